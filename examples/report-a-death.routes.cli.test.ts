/**
 * The routed report-a-death example (examples/pipelines/report-a-death.yaml)
 * through the real CLI (`npm run build` first), in a folder of its own: the
 * counts of each route on the GOV.UK Forms fixture, the driver records
 * table, the passport batch against the golden file, a second run that
 * finds only duplicates and writes nothing, and no personal value of the
 * fixture in clear in the state store or the output.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { report, scanSqlite } from '../pipelines/privacy/canary/canary.test-helpers.js';
import { examineIn, fixtureCanaries, leaksOfRuns } from './report-a-death.test-helpers.js';
import { rekey, root, type Run } from '../runner/cli.test-helpers.js';

const GOLDEN = join(root, 'examples/mappings/report-a-death-passport.golden.dat');

interface RouteDoc {
  route: string;
  lane: string;
  delivered: number;
  rejected: number;
  dead: number;
  waitingRetry: number;
  problems: { key: string; code?: string; field?: string }[];
}
interface RunDoc {
  pipeline: string;
  cases: { read: number; receivedNew: number; duplicates: number; conflicts: number; unreadable: number; rejected: number };
  told: Record<string, number>;
  routes: RouteDoc[];
  problems: { key: string; code?: string }[];
}

async function rows(file: string, sql: string): Promise<Record<string, unknown>[]> {
  const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
  try {
    return await new Promise((resolve, reject) => db.all(sql, (e, r: Record<string, unknown>[]) => (e ? reject(e) : resolve(r))));
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/** The personal values of the fixture, each a canary: names, identifiers, dates of birth, the informant's contact details. */
const PARTS: Record<string, string[]> = {
  Dn4pR7aK: ['last_name'],
  La3mX6rT: ['address1'],
  ...Object.fromEntries(['Bd6tW3eM', 'Nn5hG9cP', 'Dl7wC4nB', 'Pp2yF8hU', 'Ct9jK5sE', 'In6bV3mY', 'Ie2sH7kW', 'Ip9fT4gR'].map((id) => [id, ['answer_text']])),
};

describe('rekey run examples/pipelines/report-a-death.yaml', () => {
  let dir: string;
  let state: string;
  let pipeline: string;
  let first: Run;
  let second: Run;
  let doc1: RunDoc;
  let doc2: RunDoc;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rekey-report-a-death-'));
    state = join(dir, 'state', 'state.sqlite');
    mkdirSync(join(dir, 'state'));
    pipeline = examineIn(dir, 'report-a-death');
    const env = { REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff' };
    first = await rekey(['run', '--json', '--state', `sqlite:${state}`, pipeline], dir, env);
    doc1 = JSON.parse(first.stdout) as RunDoc;
    second = await rekey(['run', '--json', '--state', `sqlite:${state}`, pipeline], dir, env);
    doc2 = JSON.parse(second.stdout) as RunDoc;
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads ten cases and rejects the one no route applies to in the pipeline\'s own ledger', () => {
    expect(doc1.cases).toMatchObject({ read: 10, receivedNew: 10, duplicates: 0, conflicts: 0, unreadable: 0, rejected: 1 });
    expect(doc1.problems.map((p) => [p.key, p.code])).toEqual([['Report a death/MW7HS4YD', 'NO_ROUTE_APPLIES']]);
    // Rejections call for a person: exit status 1.
    expect(first.code).toBe(1);
  });

  it('tells each route exactly the reports its condition selects, and delivers the valid ones', () => {
    expect(doc1.told).toEqual({ 'driving-licence': 8, passport: 8 });
    const byRoute = Object.fromEntries(doc1.routes.map((r) => [r.route, { lane: r.lane, delivered: r.delivered, rejected: r.rejected, dead: r.dead, retrying: r.waitingRetry }]));
    expect(byRoute).toEqual({
      'driving-licence': { lane: 'report-a-death~driving-licence', delivered: 4, rejected: 4, dead: 0, retrying: 0 },
      passport: { lane: 'report-a-death~passport', delivered: 4, rejected: 4, dead: 0, retrying: 0 },
    });
    const invalid = { BL9CR7MF: 'nino', HP8EX2LC: 'DATE_OF_DEATH', VN3GU5KS: 'DATE_OF_DEATH', YA4FP8WG: 'DATE_OF_DEATH' };
    for (const r of doc1.routes) {
      const got = Object.fromEntries(r.problems.map((p) => [p.key.replace('Report a death/', ''), p.field]));
      expect(got, r.route).toEqual(invalid);
    }
  });

  it('keys the four valid licence holders into DRV_DEATH_NOTICE, once each', async () => {
    const got = await rows(join(dir, 'legacy', 'report-a-death.sqlite'), 'SELECT SUBMISSION_KEY, FORM_REF, LICENCE_NO, SURNAME, FORENAMES, DATE_OF_BIRTH, DATE_OF_DEATH, NOTIFIED_ON, NOTICE_STATUS FROM DRV_DEATH_NOTICE ORDER BY FORM_REF');
    expect(got).toEqual([
      { SUBMISSION_KEY: 'Report a death/DT4KM8PA', FORM_REF: 'DT4KM8PA', LICENCE_NO: 'SPECI403121BQ9XY', SURNAME: 'SPECIMEN', FORENAMES: 'BARTHOLOMEW QUENTIN', DATE_OF_BIRTH: '1941-03-12', DATE_OF_DEATH: '2024-02-02', NOTIFIED_ON: '2024-02-10', NOTICE_STATUS: 'NEW' },
      { SUBMISSION_KEY: 'Report a death/GE6RJ3XT', FORM_REF: 'GE6RJ3XT', LICENCE_NO: 'FAUXN657058OG9RT', SURNAME: 'FAUXNAME-DUMMY', FORENAMES: 'OTTOLINE GRACE', DATE_OF_BIRTH: '1968-07-05', DATE_OF_DEATH: '2024-06-30', NOTIFIED_ON: '2024-06-30', NOTICE_STATUS: 'NEW' },
      { SUBMISSION_KEY: 'Report a death/KJ5AT6RV', FORM_REF: 'KJ5AT6RV', LICENCE_NO: 'TESTC511178P99KM', SURNAME: 'TESTCASE', FORENAMES: 'PEREGRINE', DATE_OF_BIRTH: '1958-11-17', DATE_OF_DEATH: '2024-08-09', NOTIFIED_ON: '2024-08-12', NOTICE_STATUS: 'NEW' },
      { SUBMISSION_KEY: 'Report a death/RX6BW3HN', FORM_REF: 'RX6BW3HN', LICENCE_NO: 'SAMPL359306M99AB', SURNAME: 'SAMPLETON', FORENAMES: 'MORWENNA', DATE_OF_BIRTH: '1936-09-30', DATE_OF_DEATH: '2024-05-14', NOTIFIED_ON: '2024-05-20', NOTICE_STATUS: 'NEW' },
    ]);
  });

  it('drops one passport batch holding the golden file\'s records', () => {
    const drop = join(dir, 'drop');
    const names = readdirSync(drop).sort();
    expect(names).toHaveLength(3);
    const [data, manifest, trigger] = names;
    expect(data).toMatch(/^HMPODTH_\d{8}_000001\.dat$/);
    expect([manifest, trigger]).toEqual([`${data}.manifest.json`, `${data}.ok`]);
    const file = readFileSync(join(drop, data!)).toString('latin1').split('\r\n');
    const golden = readFileSync(GOLDEN).toString('latin1').split('\r\n');
    expect(file.at(-1)).toBe('');
    for (const line of file.slice(0, -1)) expect(line).toHaveLength(120);
    // The header differs only by the file's date and sequence number (the
    // golden file was written as sequence 7 on 2 April 2025).
    const fileDate = data!.slice(8, 16);
    expect(file[0]).toBe(golden[0]!.replace('20250402000007', `${fileDate}000001`));
    // The same four detail records, in the ledger's claim order rather than
    // the source's; the same trailer.
    expect(file.slice(1, -2).sort()).toEqual(golden.slice(1, -2).sort());
    expect(file.at(-2)).toBe(golden.at(-2));
  });

  it('finds only duplicates on a second run, and writes nothing more', async () => {
    expect(doc2.cases).toMatchObject({ read: 10, receivedNew: 0, duplicates: 10, conflicts: 0, unreadable: 0, rejected: 0 });
    expect(doc2.told).toEqual({ 'driving-licence': 0, passport: 0 });
    for (const r of doc2.routes) expect({ route: r.route, delivered: r.delivered, rejected: r.rejected, dead: r.dead, problems: r.problems }).toEqual({ route: r.route, delivered: 0, rejected: 0, dead: 0, problems: [] });
    expect(second.code).toBe(0);
    expect(await rows(join(dir, 'legacy', 'report-a-death.sqlite'), 'SELECT count(*) AS n FROM DRV_DEATH_NOTICE')).toEqual([{ n: 4 }]);
    expect(readdirSync(join(dir, 'drop'))).toHaveLength(3);
  });

  it('keeps no personal value of the fixture in clear in the state store or the output', async () => {
    const canaries = fixtureCanaries(PARTS, { squashed: true });
    expect(canaries.all.length).toBeGreaterThan(60);
    expect(report(await leaksOfRuns(canaries, state, join(dir, 'state'), [first, second]))).toEqual([]);
    // The scan can fail: the delivered copies hold the values it looks for.
    expect((await scanSqlite(canaries, join(dir, 'legacy', 'report-a-death.sqlite'), 'legacy')).length).toBeGreaterThan(0);
  });
});
