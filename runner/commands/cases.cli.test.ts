import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rekeyCli as rekey, TEST_PII_KEY_HEX, type Run } from '../cli.test-helpers.js';
import { routedPipelineDir } from './cases.test-helpers.js';

const env = { REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn' };

/** A line's first word with the spaces before it. */
const firstWord = (line: string) => /^ *\S+/.exec(line)?.[0];

interface CaseJson {
  state: string;
  routes: { route: string; pipeline: string; state: string; attempts: number; legacyRef: string | null; error: { code: string; field: string | null; message: string } | null }[];
  notTold: string[];
  intake: { state: string; error: { code: string } | null } | null;
}

describe('rekey show and status (the built CLI) on a pipeline with routes', () => {
  let dir = '';
  const cli = (...args: string[]): Promise<Run> => rekey([...args, '--state', `sqlite:${join(dir, 'state.sqlite')}`], dir, env);

  beforeAll(async () => {
    dir = routedPipelineDir();
    const run = await cli('run', join(dir, 'p.yaml'));
    expect(run.code, run.stderr).toBe(1); // some reports are rejected
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('status lists each route right under its pipeline and counts the cases by state', async () => {
    const r = await cli('status');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.map(firstWord)).toEqual(['PIPELINE', 'death', '  ~council-tax', '  ~driving-licence', 'death:']);
    expect(lines[1]).toMatch(/^death +0 +0 +0 +0 +0 +2 +0 +0 +0 /);
    expect(lines[4]).toBe('death: 10 cases over routes council-tax, driving-licence: 3 complete, 0 in progress, 5 need attention, 0 closed, 2 not routed (rekey dlq list death~ROUTE; not routed: rekey dlq list death)');
    const one = await cli('status', 'death');
    expect(one.stdout).toBe(r.stdout);
    const lane = await cli('status', 'death~council-tax');
    expect(lane.stdout.trimEnd().split('\n').map(firstWord)).toEqual(['PIPELINE', 'death~council-tax']);
  });

  it('status --json marks lanes with their route and the pipeline with its routes and cases', async () => {
    const r = await cli('status', '--json');
    const { pipelines } = JSON.parse(r.stdout) as { pipelines: Record<string, unknown>[] };
    expect(pipelines.map((p) => [p.pipeline, p.routeOf, p.route])).toEqual([
      ['death', undefined, undefined],
      ['death~council-tax', 'death', 'council-tax'],
      ['death~driving-licence', 'death', 'driving-licence'],
    ]);
    expect(pipelines[0]).toMatchObject({ routes: ['council-tax', 'driving-licence'], cases: { complete: 3, 'in-progress': 0, 'needs-attention': 5, closed: 0, 'not-routed': 2 } });
  });

  it('show prints a case: its state and each route’s state, attempts, legacy ref and error, within 100 columns', async () => {
    const r = await cli('show', 'death', 'VN3GU5KS');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`death: Report a death/VN3GU5KS
  form reference  VN3GU5KS
  case            needs attention: a route rejected it or gave up; the others go on on their own
  routes
    ROUTE            STATE      ATTEMPTS  LEGACY REF
    council-tax      delivered  1         ${r.stdout.match(/council-tax {6}delivered {2}1 {9}(\S+)/)?.[1]}
    driving-licence  rejected   0         -
      MAPPING_RECORD_REJECTED on DATE_OF_DEATH: DATE_OF_DEATH: death-not-before-birth: the date of
        death is before the date of birth
  a route         its whole story: rekey show death~ROUTE VN3GU5KS
`);
    expect(Math.max(...r.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
    const lane = await cli('show', 'death~council-tax', 'VN3GU5KS');
    expect(lane.stdout.split('\n')[0]).toBe('death~council-tax: Report a death/VN3GU5KS');
  });

  it('show --json holds the case of a report both routes delivered', async () => {
    const json = JSON.parse((await cli('show', 'death', 'DT4KM8PA', '--json')).stdout) as { key: string; case: CaseJson };
    expect(json.key).toBe('Report a death/DT4KM8PA');
    expect(json.case).toMatchObject({ state: 'complete', notTold: [], intake: null });
    expect(json.case.routes.map((x) => [x.route, x.state, x.error])).toEqual([
      ['council-tax', 'delivered', null],
      ['driving-licence', 'delivered', null],
    ]);
    expect(json.case.routes.every((x) => x.attempts === 1 && x.legacyRef)).toBe(true);
  });

  it("audit prove holds a case whole: each office's delivery, from its lane, verified offline", async () => {
    const keys = join(dir, 'audit-keys');
    expect((await rekey(['audit', 'keygen', keys], dir, env)).code).toBe(0);
    expect((await cli('audit', 'checkpoint', '--key', join(keys, 'audit-signing.key.pem'))).code).toBe(0);
    const file = join(dir, 'DT4KM8PA.proof.json');
    const made = await cli('audit', 'prove', 'death', 'DT4KM8PA', '--out', file);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toContain("across death and its routes' lanes death~council-tax, death~driving-licence");
    const checked = await rekey(['audit', 'verify', '--proof', file, '--public-key', join(keys, 'audit-verify.pub.pem'), '--json'], dir, env);
    expect(checked.code, checked.stdout).toBe(0);
    const r = JSON.parse(checked.stdout) as { key: string; proven: { pipeline: string; event: string; records: { legacyRef?: string }[] }[] };
    expect(r.key).toBe('Report a death/DT4KM8PA');
    const delivered = r.proven.filter((e) => e.event === 'delivered');
    expect(delivered.map((e) => e.pipeline).sort()).toEqual(['death~council-tax', 'death~driving-licence']);
    expect(delivered.every((e) => e.records[0]?.legacyRef)).toBe(true);
  });

  it('show prints a case no route applied to, with the pipeline’s own rejected row and its history', async () => {
    const r = await cli('show', 'death', 'MW7HS4YD');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [caseText, story] = r.stdout.split('\n\n');
    expect(caseText).toBe(`death: Report a death/MW7HS4YD
  form reference  MW7HS4YD
  case            not routed: no route applies to it (rekey dlq retry sends it to be routed again)
  not told        council-tax, driving-licence (the route's condition did not hold)`);
    expect(story).toContain('rejected for    NO_ROUTE_APPLIES: no route applies');
    expect(r.stdout).toContain('history (audit log, oldest first)');
    const json = JSON.parse((await cli('show', 'death', 'MW7HS4YD', '--json')).stdout) as { state?: unknown; case: CaseJson };
    expect(json.case).toMatchObject({ state: 'not-routed', routes: [], notTold: ['council-tax', 'driving-licence'], intake: { state: 'rejected', error: { code: 'NO_ROUTE_APPLIES' } } });
  });

  it('show refuses a reference no route and not the pipeline holds, and an ambiguous one, exit 1', async () => {
    const none = await cli('show', 'death', 'QQQQ');
    expect(none.code).toBe(1);
    expect(none.stderr.split('\n')[0]).toBe('rekey: SUBMISSION_NOT_FOUND pipeline death and its routes hold no submission matching "QQQQ" (by key, form reference, legacy reference or prefix)');
    const many = await cli('show', 'death', 'Report');
    expect(many.code).toBe(1);
    expect(many.stderr.split('\n')[0]).toMatch(/^rekey: SUBMISSION_AMBIGUOUS "Report" matches \d+ cases of pipeline death; give one of:$/);
  });
});
