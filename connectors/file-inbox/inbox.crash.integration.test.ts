/**
 * The inbox under kill -9: `rekey run` as a real child process, killed with
 * SIGKILL after it has claimed files and recorded some of their records,
 * then run again. The restart must take the dead runner's claims, record
 * every submission exactly once, deliver each once, and leave every file
 * sealed in done and no claim behind. Killed while sealing a file into
 * done, the input must survive (claimed) and no clear copy be in done.
 * Needs `npm run build`.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipelineProcess, type PassExit } from '../../runner/cli.test-helpers.js';
import { BENCH_MAPPING, benchPii, benchSubmissions } from '../conformance/bench-bodies.js';
import { benchLegacyTableSql, keyOf, querySqlite as query } from '../conformance/conformance.run.js';
import { SEALED_FILE_MAGIC } from '../../lib/envelope.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { sealedFiles } from '../../pipelines/privacy/sealed-files.js';

const PER_FILE = 150;
const FILES = ['a.ndjson', 'b.ndjson'];
const all = benchSubmissions(PER_FILE * FILES.length, 0);
const dropped = FILES.map((_, i) => all.slice(i * PER_FILE, (i + 1) * PER_FILE).map((s) => `${JSON.stringify(s)}\n`).join(''));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-inbox-crash-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'inbox'));
  FILES.forEach((f, i) => writeFileSync(join(dir, 'inbox', f), dropped[i]!));
  copyFileSync(BENCH_MAPPING, join(dir, 'mapping.yaml'));
  writeFileSync(join(dir, 'legacy.sql'), benchLegacyTableSql());
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    [
      'pipeline: inbox-crash',
      'mapping: ./mapping.yaml',
      'source: { kind: inbox, config: { path: ./inbox, settle: 0s } }',
      'target: { kind: sqlite, config: { path: ./legacy.sqlite, table: LEGACY, keyColumn: SUBMISSION_KEY, setupSql: ./legacy.sql } }',
      'batch: { size: 20 }',
      'retry: { maxAttempts: 5, initialDelay: 10ms, maxDelay: 50ms }',
      '',
    ].join('\n'),
  );
  return dir;
}

function run(dir: string, env: Record<string, string> = {}): Promise<PassExit> {
  return runPipelineProcess(dir, { env, args: ['--workers', '0'] });
}

const ledgerKeys = async (dir: string) => (await query<{ key: string }>(join(dir, 'state.sqlite'), "SELECT key FROM ledger WHERE pipeline = 'inbox-crash'")).map((r) => r.key);
const claimFolders = (dir: string) => readdirSync(join(dir, 'inbox', '.processing'));
const claimed = (dir: string) => claimFolders(dir).flatMap((c) => readdirSync(join(dir, 'inbox', '.processing', c)));
const done = (dir: string) => (existsSync(join(dir, 'inbox', 'done')) ? readdirSync(join(dir, 'inbox', 'done')).sort() : []);

/** Every file in done is empty (a reservation a kill left) or sealed; none holds the clear text of a submission. */
function expectNothingClearInDone(dir: string): void {
  for (const name of done(dir)) {
    const bytes = readFileSync(join(dir, 'inbox', 'done', name));
    if (bytes.length > 0) expect(bytes.subarray(0, SEALED_FILE_MAGIC.length).equals(SEALED_FILE_MAGIC)).toBe(true);
    expect(bytes.includes('submission_reference')).toBe(false);
    for (const value of benchPii(all[0]!)) expect(bytes.includes(value)).toBe(false);
  }
}

/** The clear bytes of each sealed file in done, opened with the children's data key. */
async function openDone(dir: string): Promise<Map<string, string>> {
  const store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
  try {
    const files = sealedFiles(store, TEST_KEYS, 'inbox-crash');
    const out = new Map<string, string>();
    for (const name of done(dir)) if (statSync(join(dir, 'inbox', 'done', name)).size > 0) out.set(name, (await files.read(join(dir, 'inbox', 'done', name))).toString());
    return out;
  } finally {
    await store.close();
  }
}

describe('inbox crash: kill -9 after claiming and partly recording, then restart', () => {
  it.each([
    ['inside the first file', 'after-receive:3', 60, ['a.ndjson'], ['b.ndjson']],
    ['inside the second file, the first read whole but not yet moved', 'after-receive:10', 200, ['a.ndjson', 'b.ndjson'], []],
  ])(
    'killed %s: the restart takes the dead claim and records every submission exactly once',
    async (_what, point, recordedBefore, claimedBefore, waiting) => {
      const dir = setup();
      const crashed = await run(dir, { REKEY_CRASH_AT: point as string });
      expect(crashed.signal).toBe('SIGKILL');
      expect(await ledgerKeys(dir)).toHaveLength(recordedBefore as number);
      expect(claimed(dir).sort()).toEqual(claimedBefore);
      expect(readdirSync(join(dir, 'inbox')).filter((n) => n.endsWith('.ndjson'))).toEqual(waiting);
      expect(done(dir)).toEqual([]);

      const restarted = await run(dir);
      expect(restarted.code).toBe(0);
      const summary = JSON.parse(restarted.stdout) as Record<string, number>;
      expect(summary).toMatchObject({ read: all.length, receivedNew: all.length - (recordedBefore as number), duplicates: recordedBefore, unreadable: 0 });

      const keys = await ledgerKeys(dir);
      expect(keys).toHaveLength(all.length);
      expect(keys.sort()).toEqual(all.map(keyOf).sort());
      const legacy = await query<{ SUBMISSION_KEY: string; n: number }>(join(dir, 'legacy.sqlite'), 'SELECT SUBMISSION_KEY, COUNT(*) AS n FROM LEGACY GROUP BY SUBMISSION_KEY');
      expect(legacy.filter((r) => r.n !== 1)).toEqual([]);
      expect(legacy).toHaveLength(all.length);
      expect(done(dir)).toEqual(FILES.map((f) => `${f}.sealed`));
      expectNothingClearInDone(dir);
      expect(await openDone(dir)).toEqual(new Map(FILES.map((f, i) => [`${f}.sealed`, dropped[i]])));
      expect(claimed(dir)).toEqual([]);
      expect(claimFolders(dir)).toHaveLength(1);
    },
    60_000,
  );
});

describe('inbox crash: kill -9 while sealing a read file into done, then restart', () => {
  it.each([
    ['after its name in done is reserved, before sealing', 'inbox-before-seal', ['a.ndjson'], ['a.ndjson.sealed'], ['a-2.ndjson.sealed', 'a.ndjson.sealed', 'b.ndjson.sealed']],
    ['after it is sealed and the clear file removed, before the next', 'inbox-after-seal', [], ['a.ndjson.sealed'], ['a.ndjson.sealed', 'b.ndjson.sealed']],
  ])(
    'killed %s: the input is never lost and done never holds a clear copy',
    async (_what, point, claimedBefore, doneBefore, doneAfter) => {
      const dir = setup();
      const crashed = await run(dir, { REKEY_CRASH_AT: point as string });
      expect(crashed.signal).toBe('SIGKILL');
      expect(await ledgerKeys(dir)).toHaveLength(all.length);
      expect(claimed(dir).sort()).toEqual([...(claimedBefore as string[]), 'b.ndjson']);
      expect(done(dir)).toEqual(doneBefore);
      expectNothingClearInDone(dir);

      const restarted = await run(dir);
      expect(restarted.code).toBe(0);
      expect(await ledgerKeys(dir)).toHaveLength(all.length);
      expect(done(dir)).toEqual(doneAfter);
      expectNothingClearInDone(dir);
      const opened = await openDone(dir);
      expect([...opened.keys()].sort()).toEqual((doneAfter as string[]).filter((n) => n !== 'a.ndjson.sealed' || point !== 'inbox-before-seal'));
      expect(opened.get('b.ndjson.sealed')).toBe(dropped[1]);
      expect(opened.get(point === 'inbox-before-seal' ? 'a-2.ndjson.sealed' : 'a.ndjson.sealed')).toBe(dropped[0]);
      expect(claimed(dir)).toEqual([]);
    },
    60_000,
  );
});
