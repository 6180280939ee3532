/**
 * `rekey dlq correct`, the built CLI: corrects a rejected submission (back
 * to received, audited `corrected` with keyed hashes), refuses unknown
 * fields and invalid values with their codes, and never prints a value;
 * `rekey show` tells the correction. The flow that delivers it afterwards
 * is tested in pipelines/ledger/corrections.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { piiHash } from '../../pipelines/audit/pii.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { CORRECTED_SURNAME as CORRECTED, CORRECTIONS_MAPPING, correctionsSubmission, ORIGINAL_SURNAME } from '../../pipelines/ledger/corrections.test-helpers.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { rekeyCli as rekey, TEST_PII_KEY_HEX } from '../cli.test-helpers.js';
import { parseCorrections } from './dlq.command.js';

const P = 'cases';
const TOO_LONG = 'QWYXZELBORNEQWYXZELBORNE';

describe('rekey dlq correct (the built CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-dlq-correct-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const cli = (...args: string[]) => rekey([...args, '--state', url], dir, { REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX });
  const key = Buffer.from(TEST_PII_KEY_HEX, 'hex');

  beforeAll(async () => {
    writeFileSync(join(dir, 'map.yaml'), CORRECTIONS_MAPPING);
    const store = await openStateStore(url);
    const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    await ledger.receive(P, null, [{ key: 'F/A1', contentHash: 'sha256:a1', body: correctionsSubmission('A1', ORIGINAL_SURNAME), source: 'in.ndjson:1' }], 'runner:test:1');
    const error = { code: 'SQL_CONSTRAINT', disposition: 'reject' as const, message: 'CHECK constraint failed: SURNAME = upper(SURNAME)', field: 'SURNAME' };
    await ledger.apply(P, null, [{ key: 'F/A1', to: 'delivering' }, { key: 'F/A1', to: 'rejected', error }], 'runner:test:1', { target: 'sqlite' });
    await store.close();
  });

  it('refuses what it cannot correct, with the code and field, never the value, and changes nothing', async () => {
    const unknown = await cli('dlq', 'correct', P, 'A1', 'NOPE=x', '--reason', 'upper case', '--mapping', 'map.yaml');
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toContain('rekey: CORRECTION_UNKNOWN_FIELD cannot correct NOPE: the mapping has no such field\n');
    const invalid = await cli('dlq', 'correct', P, 'A1', `SURNAME=${TOO_LONG}`, '--reason', 'upper case', '--mapping', 'map.yaml');
    expect(invalid).toMatchObject({ code: 1, stdout: '' });
    expect(invalid.stderr).toContain('rekey: CORRECTION_INVALID cannot correct SURNAME: length: must be at most 20 characters (got 24)\n');
    expect(invalid.stderr).not.toContain(TOO_LONG);
    const usage = await cli('dlq', 'correct', P, 'A1', TOO_LONG, '--reason', 'upper case', '--mapping', 'map.yaml');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('each correction is FIELD=VALUE or FIELD:=JSON; argument 1 has no FIELD=');
    expect(usage.stderr).not.toContain(TOO_LONG);
    const noReason = await cli('dlq', 'correct', P, 'A1', `SURNAME=${CORRECTED}`, '--mapping', 'map.yaml');
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
    const shown = JSON.parse((await cli('dlq', 'show', P, 'A1', '--json')).stdout);
    expect(shown.row.state).toBe('rejected');
    expect(shown.history.map((e: { event: string }) => e.event)).toEqual(['received', 'delivering', 'rejected']);
  });

  it('corrects, queues the submission again, and rekey show tells who, why and which fields', async () => {
    const done = await cli('dlq', 'correct', P, 'A1', `SURNAME=${CORRECTED}`, 'TITLE:=null', '--reason', 'legacy wants upper case', '--operator', 'alice', '--mapping', 'map.yaml');
    expect(done).toMatchObject({ code: 0, stdout: `corrected SURNAME, TITLE of F/A1 in ${P} as operator:alice (was rejected; queued as received, the next pass delivers it under the same key)\n` });
    expect(done.stdout + done.stderr).not.toContain(CORRECTED);
    const shown = JSON.parse((await cli('dlq', 'show', P, 'A1', '--json')).stdout);
    expect(shown.row).toMatchObject({ state: 'received', attempts: 0, lastError: null });
    const entry = shown.history.at(-1);
    expect(entry).toMatchObject({ event: 'corrected', actor: 'operator:alice', detail: { reason: 'legacy wants upper case' } });
    expect(entry.detail.records).toEqual([
      {
        key: 'F/A1',
        from: 'rejected',
        fields: ['SURNAME', 'TITLE'],
        original: { SURNAME: piiHash(ORIGINAL_SURNAME, key), TITLE: piiHash('MR', key) },
        corrected: { SURNAME: piiHash(CORRECTED, key), TITLE: piiHash(null, key) },
        originalFrom: 'mapping',
      },
    ]);
    const story = await cli('show', P, 'A1');
    expect(story.code).toBe(0);
    expect(story.stdout).toContain('corrected by an operator and sent back to received (dlq correct)');
    expect(story.stdout).toContain('by operator:alice');
    expect(story.stdout).toContain('fields corrected SURNAME, TITLE (old and new values kept on the log as keyed hashes)');
    expect(story.stdout).toContain('reason: legacy wants upper case');
    expect(story.stdout).not.toContain(CORRECTED);
  });

  it('reads FIELD=VALUE as text and FIELD:=JSON as a typed value', () => {
    expect(parseCorrections(['A=1', 'B:=1', 'C:=true', 'D:=null', 'E:="x=y"', 'F=a=b', 'G[2].H='])).toEqual({ A: '1', B: 1, C: true, D: null, E: 'x=y', F: 'a=b', 'G[2].H': '' });
    expect(() => parseCorrections(['A:=[1]'])).toThrow('A:= needs a number, true, false, null or "text", not a list or object');
    expect(() => parseCorrections(['A=1', 'A=2'])).toThrow('A is corrected twice');
    expect(() => parseCorrections(['=1'])).toThrow('argument 1 has no FIELD=');
  });
});
