import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rekeyCli as rekey, root, type Run } from '../cli.test-helpers.js';
import { copyQuickStart, QUICK_START, QUICK_START_SUBMISSIONS } from '../quick-start.test-helpers.js';

const P = 'change-of-address';
const FORM = 'Change the address on your driving licence';

/** The quick start's five rejections, as `rekey run` lists them. */
const QUICK_START_REJECTIONS = [
  '',
  'rejected or dead-lettered: 5',
  '  REFERENCE  OUTCOME   FIELD      REASON',
  '  EX6LB5NH   rejected  NINO       MAPPING_RECORD_REJECTED: NINO (answer:Ni8sK3hB): nino: "***" is not a valid National Insurance number: the first letter cannot be D, F, I, Q, U or V',
  '  FM8AS6GB   rejected  MOVE_DATE  MAPPING_RECORD_REJECTED: MOVE_DATE: move-not-after-receipt: the date moved is later than the date the form was received',
  '  N84YC3TS   rejected  POSTCODE   MAPPING_RECORD_REJECTED: POSTCODE (answer:Ad2pW6yJ.postcode): postcode: "***" is not a valid UK postcode',
  '  PD9KW2MA   rejected  DOB        MAPPING_RECORD_REJECTED: DOB (answer:Db7mR2xP): date: "***" is not a real date',
  '  RG7UV9CJ   rejected  DRIVER_NO  MAPPING_RECORD_REJECTED: DRIVER_NO (answer:Lc4vT9wN): driving-licence: "***" is not a valid driving licence number: characters 7-8 (month of birth) must be 01 to 12, or 51 to 62 for a woman',
  '',
].join('\n');

/** A postcode no rule accepts, and which must never be printed. */
const BAD_POSTCODE = 'QX CANARY 77';
const POSTCODE_REASON = 'MAPPING_RECORD_REJECTED: POSTCODE (answer:Ad2pW6yJ.postcode): postcode: "***" is not a valid UK postcode';

/** The quick start's first submission again under `n` new references (BP000001...), each with a postcode no rule accepts. */
function badSubmissions(n: number): string {
  const first = JSON.parse(readFileSync(join(root, QUICK_START_SUBMISSIONS), 'utf8').split('\n')[0]!) as {
    submission_reference: string;
    answers: { question_id: string; postcode?: string }[];
  };
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) {
    first.submission_reference = `BP${String(i).padStart(6, '0')}`;
    for (const a of first.answers) if (a.question_id === 'Ad2pW6yJ') a.postcode = BAD_POSTCODE;
    lines.push(JSON.stringify(first));
  }
  return `${lines.join('\n')}\n`;
}

describe('run summaries list what a run rejected (the built CLI)', () => {
  const quick = copyQuickStart();
  const many = copyQuickStart();
  let first: Run;

  beforeAll(async () => {
    first = await rekey(['run', QUICK_START], quick, { REKEY_LOG_LEVEL: 'warn' });
  }, 90_000);
  afterAll(() => {
    for (const d of [quick, many]) rmSync(d, { recursive: true, force: true });
  });

  it('the quick start names each rejected submission by reference, with its field and reason, after the counts', () => {
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/^\s+rejected\s+5$/m);
    expect(first.stdout.slice(first.stdout.indexOf('  waiting to retry')).replace(/^.*\n/, '')).toBe(QUICK_START_REJECTIONS);
  });

  it('dlq list --rejected lists them with key, reference, field, when and reason, paged; without it, none; --all lists every state', async () => {
    const [all, page, json, dead, everything] = await Promise.all([
      rekey(['dlq', 'list', P, '--rejected'], quick),
      rekey(['dlq', 'list', P, '--rejected', '--limit', '2', '--offset', '1'], quick),
      rekey(['dlq', 'list', P, '--rejected', '--json'], quick),
      rekey(['dlq', 'list', P], quick),
      rekey(['dlq', 'list', P, '--all', '--json'], quick),
    ]);
    expect(all.code).toBe(0);
    const rows = all.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s{2,}/));
    expect(rows[0]).toEqual(['KEY', 'STATE', 'ATTEMPTS', 'REFERENCE', 'FIELD', 'UPDATED', 'LAST ERROR']);
    expect(rows.slice(1).map((r) => [r[0], r[1], r[2], r[3], r[4], r[6]])).toEqual(
      QUICK_START_REJECTIONS.split('\n').slice(3, -1).map((l) => {
        const [ref, outcome, field, reason] = l.trim().split(/\s{2,}/);
        return [`${FORM}/${ref}`, outcome, '0', ref, field, reason];
      }),
    );
    for (const r of rows.slice(1)) expect(r[5]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(page.stdout.split('\n').filter(Boolean).slice(1).map((l) => l.split(/\s{2,}/)[3])).toEqual(['FM8AS6GB', 'N84YC3TS']);
    const parsed = JSON.parse(json.stdout) as { rows: { key: string; reference: string; field: string; state: string }[] };
    expect(parsed.rows.map((r) => [r.reference, r.field, r.state])).toEqual([
      ['EX6LB5NH', 'NINO', 'rejected'],
      ['FM8AS6GB', 'MOVE_DATE', 'rejected'],
      ['N84YC3TS', 'POSTCODE', 'rejected'],
      ['PD9KW2MA', 'DOB', 'rejected'],
      ['RG7UV9CJ', 'DRIVER_NO', 'rejected'],
    ]);
    const states = (JSON.parse(everything.stdout) as { rows: { state: string }[] }).rows.map((r) => r.state);
    expect([states.length, states.filter((st) => st === 'delivered').length, states.filter((st) => st === 'rejected').length]).toEqual([11, 6, 5]);
    expect(dead.stdout.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^KEY\s+STATE\s+ATTEMPTS\s+REFERENCE\s+FIELD\s+UPDATED\s+LAST ERROR$/)]);
  });

  it('run --help and dlq list --help say what is listed and how', async () => {
    const [run, dlq] = await Promise.all([rekey(['run', '--help'], quick), rekey(['dlq', 'list', '--help'], quick)]);
    expect(run.stdout).toContain('rejected or dead-lettered (reference, field, reason; never a value) and how\nto list the rest: rekey dlq list PIPELINE --rejected.\n');
    expect(dlq.stdout).toMatch(/--rejected\s+include rejected submissions \(refused by the mapping or the\s+legacy system; never retried\)/);
  });

  it('a second run of the same file rejects nothing new and lists nothing', async () => {
    const again = await rekey(['run', QUICK_START, '--json'], quick, { REKEY_LOG_LEVEL: 'warn' });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ duplicates: 11, rejected: 0, problems: [] });
  });

  it('lists the first 20 of 25 rejections in a terminal, then how many more and where; --json has all 25; no value is printed', async () => {
    const dir = many;
    writeFileSync(join(dir, QUICK_START_SUBMISSIONS), badSubmissions(25));
    const state = (name: string) => ['--state', `sqlite:${join(dir, name)}`];
    const [text, json] = await Promise.all([
      rekey(['run', QUICK_START, ...state('text.sqlite')], dir, { REKEY_LOG_LEVEL: 'warn' }),
      rekey(['run', QUICK_START, '--json', ...state('json.sqlite')], dir, { REKEY_LOG_LEVEL: 'warn' }),
    ]);
    expect(text.code).toBe(1);
    const list = text.stdout.slice(text.stdout.indexOf('\nrejected or dead-lettered'));
    const refs = Array.from({ length: 25 }, (_, i) => `BP${String(i + 1).padStart(6, '0')}`);
    expect(list).toBe(
      [
        '',
        'rejected or dead-lettered: 25',
        '  REFERENCE  OUTCOME   FIELD     REASON',
        ...refs.slice(0, 20).map((ref) => `  ${ref}   rejected  POSTCODE  ${POSTCODE_REASON}`),
        `  ... and 5 more: rekey dlq list ${P} --rejected`,
        '',
      ].join('\n'),
    );
    expect(json.code).toBe(1);
    const summary = JSON.parse(json.stdout) as { rejected: number; problems: Record<string, unknown>[] };
    expect(summary.rejected).toBe(25);
    expect(summary.problems.map(({ at, ...p }) => [typeof at, p])).toEqual(
      refs.map((ref) => ['string', { key: `${FORM}/${ref}`, reference: ref, outcome: 'rejected', field: 'POSTCODE', code: 'MAPPING_RECORD_REJECTED', message: POSTCODE_REASON.replace('MAPPING_RECORD_REJECTED: ', '') }]),
    );
    for (const r of [text, json]) expect(r.stdout + r.stderr).not.toContain('CANARY');
  });
});
