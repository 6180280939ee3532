/**
 * The legacy system's answers through `rekey run` as users run it: a run
 * drops a fixed-width file; the legacy system writes its acknowledgement
 * file (some records accepted, one rejected with a reason, one not
 * answered); the next run confirms the accepted records and dead-letters
 * the rejected one with the legacy reason, which `rekey dlq list` shows; a
 * further run applies nothing twice; `rekey dlq retry` sends the rejected
 * record out again in a new file. Needs `npm run build`.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { rekeyCli as rekey, root } from '../../runner/cli.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

const PIPELINE = 'examples/pipelines/file-drop-change-of-address.yaml';
const NAME = 'file-drop-change-of-address';
const ACK = `    ack:
      match: "{name}.ack"
      linePrefix: D
      record: { start: 2, length: 6 }
      status: { start: 9, length: 1 }
      reason: { start: 11, length: 60 }
      accepted: [A]
      rejected: [R]
`;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-drop-answers-'));
  dirs.push(dir);
  for (const f of [PIPELINE, 'examples/mappings/change-of-address.yaml', 'examples/mappings/change-of-address.cases.yaml', 'fixtures/submissions/govuk-forms/change-of-address.ndjson']) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    copyFileSync(join(root, f), join(dir, f));
  }
  const yaml = readFileSync(join(dir, PIPELINE), 'utf8');
  if (!yaml.includes('    trigger: .ok\n')) throw new Error('the example pipeline changed: no trigger line to put ack: after');
  writeFileSync(join(dir, PIPELINE), yaml.replace('    trigger: .ok\n', `    trigger: .ok\n${ACK}`));
  return dir;
}

async function ledgerOf(dir: string, historyOf = '') {
  const store = await openStateStore(`sqlite:${join(dir, '.rekey/state.sqlite')}`);
  try {
    const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    return { rows: await ledger.list(NAME, { limit: 100 }), history: (await ledger.history(NAME, historyOf)).map((e) => e.event) };
  } finally {
    await store.close();
  }
}

describe('answers of the legacy system through rekey run', () => {
  it('confirms accepted records, dead-letters the rejected one with its reason, applies nothing twice, and a retried record goes out again', async () => {
    const dir = freshCopy();
    const first = await rekey(['run', '--json', PIPELINE], dir);
    expect(JSON.parse(first.stdout)).toMatchObject({ read: 11, delivered: 6, rejected: 5, dead: 0 });
    const drop = join(dir, '.rekey/drop/change-of-address');
    const data = readdirSync(drop).find((n) => n.endsWith('.dat'))!;
    writeFileSync(
      join(drop, `${data}.ack`),
      ['H ACK', 'D000001 A', 'D000002 R E114 POSTCODE NOT ON ADDRESS FILE', 'D000003 A', 'D000004 A', 'D000005 A', 'T 000005'].join('\r\n') + '\r\n',
    );

    const second = await rekey(['run', PIPELINE], dir);
    expect(second.stdout).toMatch(/confirmed \(answer\) +4\n/);
    expect(second.stdout).toMatch(/rejected \(answer\) +1\n/);
    expect(second.code).toBe(1);
    const { rows } = await ledgerOf(dir);
    const byRef = new Map(rows.map((r) => [r.legacyRef, r]));
    for (const n of [1, 3, 4, 5]) expect(byRef.get(`${data}#${n}`)).toMatchObject({ state: 'delivered', confirmed: true });
    expect(byRef.get(`${data}#6`)).toMatchObject({ state: 'delivered', confirmed: false });
    const rejected = byRef.get(`${data}#2`)!;
    expect(rejected).toMatchObject({ state: 'dead', lastError: { code: 'LEGACY_REJECTED', disposition: 'reject', message: 'the legacy system rejected the record in its answer' } });
    expect(rejected.lastError?.textHash).toMatch(/^hmac:[0-9a-f]{32}$/);

    const dlq = await rekey(['dlq', 'list', NAME], dir);
    expect(dlq.code).toBe(0);
    const deadLines = dlq.stdout.split('\n').filter((l) => l.startsWith(rejected.key));
    expect(deadLines).toHaveLength(1);
    expect(deadLines[0]).toContain('LEGACY_REJECTED: the legacy system rejected the record in its answer');
    expect(dlq.stdout, "the answer's reason is the legacy system's text: kept sealed").not.toContain('POSTCODE NOT ON ADDRESS FILE');
    const shown = await rekey(['dlq', 'show', NAME, rejected.key], dir);
    expect(shown.stdout).toContain(`${data}#2`);
    expect(shown.stdout).toMatch(/^state +dead$/m);

    const third = await rekey(['run', '--json', PIPELINE], dir);
    const s3 = JSON.parse(third.stdout) as Record<string, unknown>;
    expect(s3).toMatchObject({ delivered: 0, dead: 0 });
    expect(s3.confirmed).toBeUndefined();
    expect(s3.rejectedByLegacy).toBeUndefined();
    expect(third.code).toBe(0);
    const after = await ledgerOf(dir);
    expect(after.rows).toEqual(rows);

    expect((await rekey(['dlq', 'retry', NAME, rejected.key], dir)).code).toBe(0);
    const fourth = await rekey(['run', '--json', PIPELINE], dir);
    expect(JSON.parse(fourth.stdout)).toMatchObject({ delivered: 1, dead: 0 });
    const files = readdirSync(drop).filter((n) => n.endsWith('.dat')).sort();
    expect(files).toHaveLength(2);
    const last = await ledgerOf(dir, rejected.key);
    expect(last.rows.find((r) => r.key === rejected.key)).toMatchObject({ state: 'delivered', confirmed: false, legacyRef: `${files[1]}#1` });
    expect(last.history.filter((e) => e !== 'duplicate')).toEqual(['received', 'delivered', 'dead', 'retried', 'delivering', 'delivered']);
  }, 180_000);
});
