/**
 * The inbox under kill -9: `rekey run` as a real child process, killed with
 * SIGKILL after it has claimed files and recorded some of their records,
 * then run again. The restart must take the dead runner's claims, record
 * every submission exactly once, deliver each once, and leave every file in
 * done and no claim behind. Needs `npm run build`.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipelineProcess, type PassExit } from '../../runner/cli.test-helpers.js';
import { BENCH_MAPPING, benchSubmissions } from '../conformance/bench-bodies.js';
import { benchLegacyTableSql, keyOf, querySqlite as query } from '../conformance/conformance.run.js';

const PER_FILE = 150;
const FILES = ['a.ndjson', 'b.ndjson'];
const all = benchSubmissions(PER_FILE * FILES.length, 0);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-inbox-crash-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'inbox'));
  FILES.forEach((f, i) => {
    const body = all.slice(i * PER_FILE, (i + 1) * PER_FILE).map((s) => `${JSON.stringify(s)}\n`);
    writeFileSync(join(dir, 'inbox', f), body.join(''));
  });
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
      expect(existsSync(join(dir, 'inbox', 'done')) ? readdirSync(join(dir, 'inbox', 'done')) : []).toEqual([]);

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
      expect(readdirSync(join(dir, 'inbox', 'done')).sort()).toEqual(FILES);
      expect(claimed(dir)).toEqual([]);
      expect(claimFolders(dir)).toHaveLength(1);
    },
    60_000,
  );
});
