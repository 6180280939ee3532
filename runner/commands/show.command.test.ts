import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PipelineCodes } from '../../pipelines/pipeline.errors.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { rekey, rekeyInProcess, root, TEST_PII_KEY_HEX, type Run } from '../cli.test-helpers.js';
import { copyQuickStart, QUICK_START, quickStartCanaries } from '../quick-start.test-helpers.js';

const P = 'change-of-address';
const FORM = 'Change the address on your driving licence';
const env = { REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn' };

/**
 * Compares `text` with the golden file `name` beside this test
 * (REKEY_UPDATE_GOLDEN=1 rewrites it; review the diff before committing).
 */
function golden(name: string, text: string): void {
  const path = join(root, 'runner/commands', name);
  if (process.env.REKEY_UPDATE_GOLDEN === '1') writeFileSync(path, text);
  expect(existsSync(path), `golden file ${path} is missing (REKEY_UPDATE_GOLDEN=1 writes it)`).toBe(true);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

const canaries = quickStartCanaries;

describe('rekey show (the built CLI, in process) on the quick start', () => {
  let dir = '';
  let version = '';
  const cli = (...args: string[]): Promise<Run> => rekeyInProcess(args, dir, env);
  const runQuickStart = (): Promise<Run> => rekey(['run', QUICK_START], dir, env);
  /** `text` with what varies from run to run replaced by placeholders. */
  const stable = (text: string) =>
    text
      .replaceAll(dir, '<DIR>')
      .replaceAll(version, '<MAPPING_VERSION>')
      .replaceAll(version.slice(0, 19), '<MAPPING_VERSION>')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<TIME>')
      .replace(/runner:[^\s,:"]+:\d+/g, 'runner:<HOST>:<PID>')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<RUN>');

  beforeAll(async () => {
    dir = copyQuickStart('rekey-show-');
    const run = await runQuickStart();
    expect(run.code).toBe(1);
    const again = await runQuickStart();
    expect(again.code).toBe(0);
    version = (JSON.parse((await cli('show', P, 'CA3HJ7WR', '--json')).stdout) as { mappingVersion: string }).mappingVersion;
    expect(version).toMatch(/^sha256:[0-9a-f]{64}$/);
  }, 120_000);

  it("prints a delivered submission's story, found by the citizen's reference, as the golden file says", async () => {
    const r = await cli('show', P, 'CA3HJ7WR');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    golden('show.golden.txt', stable(r.stdout));
    expect(Math.max(...r.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
  });

  it("prints a rejected submission's story with its field and reason, as the golden file says", async () => {
    const r = await cli('show', P, 'ex6lb5nh');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    golden('show.rejected.golden.txt', stable(r.stdout));
  });

  it('prints the same story as one JSON object with --json, as the golden file says', async () => {
    const r = await cli('show', P, `${FORM}/CA3HJ7WR`, '--json');
    expect(r.code).toBe(0);
    const story = JSON.parse(r.stdout) as { key: string; reference: string; row: { state: string }; steps: { event: string }[] };
    expect(story).toMatchObject({ key: `${FORM}/CA3HJ7WR`, reference: 'CA3HJ7WR', row: { state: 'delivered' } });
    expect(story.steps.map((s) => s.event)).toEqual(['received', 'delivered', 'duplicate']);
    golden('show.golden.json', stable(r.stdout));
  });

  it('finds the same submission by its legacy reference and by a unique prefix', async () => {
    const [byLegacy, byPrefix] = await Promise.all([cli('show', P, '1', '--json'), cli('show', P, 'ca3h', '--json')]);
    expect(JSON.parse(byLegacy.stdout)).toMatchObject({ key: `${FORM}/CA3HJ7WR` });
    expect(JSON.parse(byPrefix.stdout)).toMatchObject({ key: `${FORM}/CA3HJ7WR` });
  });

  it('holds no value a citizen typed, in text or JSON', async () => {
    const outputs = [
      readFileSync(join(root, 'runner/commands/show.golden.txt'), 'utf8'),
      readFileSync(join(root, 'runner/commands/show.rejected.golden.txt'), 'utf8'),
      readFileSync(join(root, 'runner/commands/show.golden.json'), 'utf8'),
      (await cli('show', P, 'CA3HJ7WR', '--lineage')).stdout,
    ].join('\n');
    const values = canaries();
    expect(values).toContain("O'CONNOR");
    expect(values).toContain('JH482751C');
    for (const v of values) expect(outputs.includes(v), `${v} in rekey show's output`).toBe(false);
  });

  it('refuses an unknown pipeline, an unknown reference and an ambiguous one, with exit 1 and the exact message', async () => {
    const [pipeline, unknown, ambiguous] = await Promise.all([cli('show', 'change-of-adress', 'CA3HJ7WR'), cli('show', P, 'ZZ9ZZ9'), cli('show', P, 'N')]);
    const hint = (code: 'SUBMISSION_NOT_FOUND' | 'SUBMISSION_AMBIGUOUS') => `  ${PipelineCodes[code].hint}\n`;
    expect(pipeline).toMatchObject({ code: 1, stdout: '', stderr: `rekey: SUBMISSION_NOT_FOUND the state store knows no pipeline "change-of-adress" (it holds ${P})\n${hint('SUBMISSION_NOT_FOUND')}` });
    expect(unknown).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `rekey: SUBMISSION_NOT_FOUND pipeline ${P} holds no submission matching "ZZ9ZZ9" (by key, form reference, legacy reference or prefix)\n${hint('SUBMISSION_NOT_FOUND')}`,
    });
    expect(ambiguous).toMatchObject({
      code: 1,
      stdout: '',
      stderr: [
        `rekey: SUBMISSION_AMBIGUOUS "N" matches 3 submissions of pipeline ${P}; give one of:`,
        `  ${FORM}/N84YC3TS (rejected)`,
        `  Newid y cyfeiriad ar eich trwydded yrru/K72MP4XB (delivered, legacy ref 2)`,
        `  Newid y cyfeiriad ar eich trwydded yrru/WY3TD4KP (delivered, legacy ref 5)`,
        hint('SUBMISSION_AMBIGUOUS'),
      ].join('\n'),
    });
  });
});

describe('commands that name one submission take any reference (the built CLI, in process, on the quick start run by a process)', () => {
  let dir = '';
  const cli = (...args: string[]): Promise<Run> => rekeyInProcess(args, dir, env);
  const runQuickStart = (): Promise<Run> => rekey(['run', QUICK_START], dir, env);

  beforeAll(async () => {
    dir = copyQuickStart('rekey-refs-');
    expect((await runQuickStart()).code).toBe(1);
  }, 60_000);

  it('dlq show finds CA3HJ7WR, and lists the matches of an ambiguous prefix with exit 1', async () => {
    const [show, ambiguous] = await Promise.all([cli('dlq', 'show', P, 'CA3HJ7WR'), cli('dlq', 'show', P, 'ch')]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^key +${FORM}/CA3HJ7WR$`, 'm'));
    expect(show.stdout).toMatch(/^ {2}\S+Z {2}#\d+ {2}attempt 1: delivered, legacy ref 1$/m);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr.split('\n')[0]).toBe(`rekey: SUBMISSION_AMBIGUOUS "ch" matches 9 submissions of pipeline ${P}; give one of:`);
    expect(ambiguous.stderr).toContain(`\n  ${FORM}/CA3HJ7WR (delivered, legacy ref 1)\n`);
  });

  it('dlq retry and discard, replay, evidence and erase act on the submission the reference names', async () => {
    const [retry, discard, evidence] = await Promise.all([
      cli('dlq', 'retry', P, 'ca3hj7wr'),
      cli('dlq', 'discard', P, 'TW5RN8ED', '--reason', 'test'),
      cli('evidence', P, '4', '--out', join(dir, 'ev')),
    ]);
    expect(retry.stderr).toMatch(new RegExp(`^rekey: LEDGER_ACTION_REFUSED .*"${FORM}/CA3HJ7WR" cannot move from delivered to received`));
    expect(discard.stderr).toMatch(new RegExp(`^rekey: LEDGER_ACTION_REFUSED .*"${FORM}/TW5RN8ED" cannot move from delivered to discarded`));
    expect(evidence).toMatchObject({ code: 1, stderr: `rekey: no evidence is kept of "${FORM}/HB2FG6LV" in pipeline ${P} (none was taken, or it was purged or erased)\n` });
    const replay = await cli('replay', P, 'LN4J', '--operator', 'alice');
    expect(replay).toMatchObject({ code: 0, stdout: `replaying ${FORM}/LN4JE7RX of ${P} (queued as received) as operator:alice\n` });
    const partial = await cli('erase', P, 'fm8as', '--reason', 'SAR-1', '--operator', 'bob');
    expect(partial).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(new RegExp(`^rekey: LEDGER_BAD_REQUEST "fm8as" is only the start of "${FORM}/FM8AS6GB": an erasure cannot be undone, so give the full key, form reference or legacy reference\n`)),
    });
    const erase = await cli('erase', P, 'fm8as6gb', '--reason', 'SAR-1', '--operator', 'bob');
    expect(erase).toMatchObject({ code: 0, stdout: `erased ${FORM}/FM8AS6GB of ${P} as operator:bob: its body and data key, 0 conflict(s) and 0 file(s) destroyed\n` });
    const shown = JSON.parse((await cli('show', P, 'FM8AS6GB', '--json')).stdout) as { erasedAt: string; steps: { event: string; actor: string; reason?: string }[] };
    expect(shown.erasedAt).toMatch(/Z$/);
    expect(shown.steps.at(-1)).toMatchObject({ event: 'erased', actor: 'operator:bob', reason: 'SAR-1' });
  });

  it('show --sent prints the record exactly as sent, audited as the operator; the audit log holds none of its values', async () => {
    const r = await cli('show', P, 'K72MP4XB', '--sent', '--operator', 'auditor');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const seq = /^record as sent \(citizens' data in clear; opened as operator:auditor, audit entry #(\d+)\)$/m.exec(r.stdout)?.[1];
    expect(seq).toBeDefined();
    expect(r.stdout).toMatch(/^ {2}WEB_REF +"K72MP4XB"$/m);
    const sent = JSON.parse((await cli('show', P, 'K72MP4XB', '--sent', '--json', '--operator', 'auditor')).stdout) as { sentRecord: { record: Record<string, unknown> }; openedAs: string };
    expect(sent).toMatchObject({ openedAs: 'operator:auditor', sentRecord: { record: { WEB_REF: 'K72MP4XB', WELSH_FLAG: 'Y' } } });
    const story = JSON.parse((await cli('show', P, 'K72MP4XB', '--json')).stdout) as { steps: { seq: number; event: string; actor: string; what: string }[] };
    expect(story.steps.filter((s) => s.event === 'evidence-opened')).toEqual([
      expect.objectContaining({ seq: Number(seq), actor: 'operator:auditor', what: 'record as sent decrypted for an operator' }),
      expect.objectContaining({ actor: 'operator:auditor', what: 'record as sent decrypted for an operator' }),
    ]);
    const log = (await cli('audit', 'export', '--format', 'json')).stdout;
    const values = Object.values(sent.sentRecord.record).map(String).filter((v) => v.length >= 4 && v !== 'K72MP4XB' && !/^\d+$/.test(v));
    expect(values.length).toBeGreaterThan(5);
    for (const v of values) expect(log.includes(v), `${v} on the audit log`).toBe(false);
  });

  it('show --lineage tells each field from the stored text of the version it was keyed with, or says plainly that text is not kept', async () => {
    const r = await cli('show', P, 'TW5RN8ED', '--lineage');
    expect(r.code).toBe(0);
    const version = /^ {2}mapping +(sha256:[0-9a-f]{64})$/m.exec(r.stdout)?.[1];
    expect(version).toBeDefined();
    expect(r.stdout).toContain(`\nfield lineage (mapping ${version})\n`);
    expect(r.stdout).toMatch(/^ {2}SURNAME {2}\[pii, required\]\n {4}reads {6}answer Fn3kQ8aZ\.last_name \("What is your name\?"\)$/m);
    expect(r.stdout).not.toContain('field lineage: rekey show');
    const json = JSON.parse((await cli('show', P, 'TW5RN8ED', '--lineage', '--json')).stdout) as { lineage: { version: string; fields: { field: string; pii: boolean }[] } };
    expect(json.lineage.version).toBe(version);
    expect(json.lineage.fields.find((f) => f.field === 'NINO')).toMatchObject({ pii: true });
    const store = await openStateStore(`sqlite:${join(dir, '.rekey/state.sqlite')}`);
    await store.exec('DELETE FROM mapping_texts WHERE version = $1', [version]);
    await store.close();
    const gone = await cli('show', P, 'TW5RN8ED', '--lineage');
    expect(gone.code).toBe(0);
    const said = gone.stdout.slice(gone.stdout.indexOf('\nfield lineage ('));
    expect(Math.max(...said.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
    expect(said.replace(/\n {2}/g, ' ')).toBe(
      `\nfield lineage (mapping ${version}) the text of mapping version ${version} is not stored (it was keyed before rekey kept mapping texts), so its lineage cannot be told; the current mapping file may differ from it\n`,
    );
  });

  it('show --sent refuses an erased or purged submission, and says a rejected one sent nothing, exit 1 each', async () => {
    expect((await cli('erase', P, 'WY3TD4KP', '--reason', 'SAR-2')).code).toBe(0);
    const store = await openStateStore(`sqlite:${join(dir, '.rekey/state.sqlite')}`);
    await store.exec(`DELETE FROM ledger_bodies WHERE id = (SELECT id FROM ledger WHERE key = $1)`, [`${FORM}/HB2FG6LV`]);
    await store.close();
    const before = (await cli('audit', 'export', '--format', 'json')).stdout;
    const [erased, purged, rejected] = await Promise.all([cli('show', P, 'WY3TD4KP', '--sent'), cli('show', P, 'HB2FG6LV', '--sent'), cli('show', P, 'PD9KW2MA', '--sent')]);
    expect(erased).toMatchObject({ code: 1, stdout: '' });
    expect(erased.stderr).toMatch(new RegExp(`^rekey: SUBMISSION_ERASED cannot print the record sent for "Newid y cyfeiriad ar eich trwydded yrru/WY3TD4KP" of pipeline ${P}: it was erased at \\S+Z \\(right to erasure\\); the audit log keeps only its hash\n`));
    expect(purged).toMatchObject({ code: 1, stdout: '' });
    expect(purged.stderr.split('\n')[0]).toBe(`rekey: BODY_PURGED cannot print the record sent for "${FORM}/HB2FG6LV" of pipeline ${P}: the retention policy removed it with the body; the audit log keeps only its hash`);
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toMatch(/\nrecord as sent\n {2}nothing was sent: it was never delivered\n$/);
    // Nothing written by the refusals: the log is as before but for the first export's own record of itself.
    const after = JSON.parse((await cli('audit', 'export', '--format', 'json')).stdout) as { event: string; detail: unknown }[];
    expect(after.slice(0, -1)).toEqual(JSON.parse(before));
    expect(after.at(-1)).toMatchObject({ event: 'audit-exported', detail: { format: 'json', entries: after.length - 1 } });
  });
});
