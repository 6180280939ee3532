import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineCodes } from '../../pipelines/pipeline.errors.js';
import { rekeyCli as rekey, root, TEST_PII_KEY_HEX } from '../cli.test-helpers.js';

const PIPELINE = 'examples/pipelines/change-of-address.yaml';
const COPIED = [PIPELINE, 'examples/mappings/change-of-address.yaml', 'fixtures/submissions/govuk-forms/change-of-address.ndjson', 'fixtures/legacy/drv_addr_chg.sqlite.sql'];
const KEY = 'Change the address on your driving licence/CA3HJ7WR';
/** What the quick start keys for CA3HJ7WR (the mapping upper-cases the surname). */
const SURNAME = "O'CONNOR";

describe('rekey audit check (the built CLI, on the quick-start example)', () => {
  let dir: string;
  let state: string;
  const env = { REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn' };
  const check = (...args: string[]) => rekey(['audit', 'check', '--state', state, 'change-of-address', ...args], dir, env);
  const at = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/.source;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rekey-audit-check-'));
    for (const f of COPIED) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      copyFileSync(join(root, f), join(dir, f));
    }
    state = `sqlite:${join(dir, 'state.sqlite')}`;
    const r = await rekey(['run', '--state', state, PIPELINE], dir, env);
    // The quick start's sample holds 5 submissions the mapping rejects on purpose: the run exits 1.
    expect([0, 1], r.stderr).toContain(r.code);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says match, when and where it was sent, for the value sent, found by the citizen\'s reference; never echoing the value', async () => {
    const r = await check('CA3HJ7WR', 'SURNAME', SURNAME);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^match: SURNAME is the value sent at ${at} \\(audit seq \\d+\\) to sqlite \\.rekey/legacy\\.sqlite DRV_ADDR_CHG\\n$`));
    expect(r.stdout).not.toContain('CONNOR');
    const ref = await check('CA3HJ7WR', 'WEB_REF', 'CA3HJ7WR');
    expect(ref.code).toBe(0);
  });

  it('says no match, exit 1, for any other value, and prints nothing of it', async () => {
    const r = await check('CA3HJ7WR', 'SURNAME', 'Smithson-Canary');
    expect(r).toMatchObject({ code: 1, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^no match: SURNAME is not the value sent at ${at} \\(audit seq \\d+\\) to sqlite \\.rekey/legacy\\.sqlite DRV_ADDR_CHG\\n$`));
    expect(r.stdout).not.toContain('Canary');
    expect((await check('CA3HJ7WR', 'SURNAME', "O'Connor")).code).toBe(1);
  });

  it('answers in JSON with --json', async () => {
    const r = await check('--json', 'CA3HJ7WR', 'SURNAME', SURNAME);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      pipeline: 'change-of-address',
      key: KEY,
      field: 'SURNAME',
      match: true,
      seq: expect.any(Number) as unknown,
      at: expect.stringMatching(new RegExp(`^${at}$`)) as unknown,
      target: 'sqlite .rekey/legacy.sqlite DRV_ADDR_CHG',
    });
  });

  it('names the fields that were sent when given an unknown field, and refuses a submission never delivered', async () => {
    const unknown = await check('CA3HJ7WR', 'SURNAM', 'x');
    expect(unknown).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        `rekey: AUDIT_CHECK_FIELD_UNKNOWN no delivery of ${JSON.stringify(KEY)} recorded field SURNAM; the fields sent were: ` +
        'ADDR_1, ADDR_2, ADDR_3, CONSENT, DOB, DRIVER_NO, EFFECTIVE_DATE, EMAIL, FORENAMES, MOVE_DATE, NINO, PHONE, POSTCODE, RECEIVED, RECEIVED_DATE, SOURCE, SURNAME, TITLE, WEB_REF, WELSH_FLAG\n' +
        `  ${PipelineCodes.AUDIT_CHECK_FIELD_UNKNOWN.hint}\n`,
    });
    const rejected = await check('EX6LB5NH', 'SURNAME', 'x');
    expect(rejected).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `rekey: AUDIT_CHECK_NOT_SENT "Change the address on your driving licence/EX6LB5NH" was never delivered: the audit log records nothing sent for it\n  ${PipelineCodes.AUDIT_CHECK_NOT_SENT.hint}\n`,
    });
    const none = await check('ZZ9', 'SURNAME', 'x');
    expect(none.stderr).toMatch(/^rekey: SUBMISSION_NOT_FOUND /);
  });

  it('needs the PII key the runner hashed with: without one it says so', async () => {
    const r = await rekey(['audit', 'check', '--state', state, 'change-of-address', 'CA3HJ7WR', 'SURNAME', SURNAME], dir, { REKEY_AUDIT_PII_KEY: '', REKEY_AUDIT_PII_KEY_FILE: join(dir, 'no-such.key') });
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toMatch(/^rekey: AUDIT_KEY_INVALID cannot read the PII key file: ENOENT\n/);
  });
});
