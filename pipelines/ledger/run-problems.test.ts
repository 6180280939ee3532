import { describe, expect, it } from 'vitest';
import { PipelineCodes } from '../pipeline.errors.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { ERR, pipelineNames, sub, useTestLedger } from './ledger.test-helpers.js';
import { countRunProblems, errorFields, formReference, runProblems, type RunProblem } from './run-problems.js';

const SUMMARY = { read: 0, receivedNew: 0, duplicates: 0, conflicts: 0, unreadable: 0, rejected: 0, delivered: 0, failed: 0, dead: 0 };
const BAD_SURNAME = { code: 'MAPPING_RECORD_REJECTED', disposition: 'reject' as const, message: 'SURNAME (answer:Fn3kQ8aZ.last_name): pattern: must be letters; DOB: date: "***" is not a real date' };
const REFUSED = { code: 'TARGET_REFUSED', disposition: 'reject' as const, message: 'the legacy system refused the record', field: 'POSTCODE' };

async function all(pages: AsyncIterable<RunProblem[]>): Promise<RunProblem[]> {
  const out: RunProblem[] = [];
  for await (const page of pages) out.push(...page);
  return out;
}

describe('the fields an error names', () => {
  it('takes the error field, else the fields a mapping rejection names, else none', () => {
    expect(errorFields(REFUSED)).toBe('POSTCODE');
    expect(errorFields(BAD_SURNAME)).toBe('SURNAME, DOB');
    expect(errorFields({ ...BAD_SURNAME, message: 'GROUP.CHILD (answer:x): required: missing; GROUP.CHILD: length: too long' })).toBe('GROUP.CHILD');
    expect(errorFields(ERR)).toBeNull();
    expect(errorFields({ ...BAD_SURNAME, message: 'no field here' })).toBeNull();
    expect(errorFields(null)).toBeNull();
  });

  it('reads the form reference as the key last / part', () => {
    expect(formReference('Change the address/CA3HJ7WR')).toBe('CA3HJ7WR');
    expect(formReference('plain-key')).toBe('plain-key');
    expect(formReference('ends-with/')).toBe('ends-with/');
  });
});

describe.each(TEST_DIALECTS)('a run rejections and dead letters, from its audit entries (%s)', (dialect) => {
  const env = useTestLedger(dialect);
  const name = pipelineNames();

  it('lists and counts only its own run, in order, page by page, with field and reason', async () => {
    const p = name();
    const actor = 'runner:test:1';
    const mine = await env.ledger.startRun(p, actor, 'sha256:m');
    const other = await env.ledger.startRun(p, actor, 'sha256:m');
    await env.ledger.receive(p, mine, ['f/A', 'f/B', 'f/C', 'f/D'].map((k) => sub(k)), actor);
    await env.ledger.receive(p, other, [sub('f/X')], actor);
    await env.ledger.apply(p, mine, [{ key: 'f/A', to: 'rejected', error: BAD_SURNAME }], actor);
    await env.ledger.apply(p, other, [{ key: 'f/X', to: 'rejected', error: BAD_SURNAME }], actor);
    await env.ledger.apply(p, mine, [{ key: 'f/B', to: 'delivering' }, { key: 'f/C', to: 'delivering' }], actor);
    await env.ledger.apply(p, mine, [{ key: 'f/B', to: 'dead', error: ERR }, { key: 'f/C', to: 'rejected', error: REFUSED }], actor);
    await env.ledger.apply(p, mine, [{ key: 'f/D', to: 'delivering' }, { key: 'f/D', to: 'delivered', legacyRef: 'L1' }], actor);
    await env.ledger.finishRun(mine, SUMMARY);
    await env.ledger.finishRun(other, SUMMARY);
    const pages: RunProblem[][] = [];
    for await (const page of runProblems(env.ts.store, mine, { pageSize: 1 })) pages.push(page);
    expect(pages.map((page) => page.map(({ at, ...x }) => [at instanceof Date, x]))).toEqual([
      [[true, { key: 'f/A', reference: 'A', outcome: 'rejected', field: 'SURNAME, DOB', code: BAD_SURNAME.code, message: BAD_SURNAME.message }]],
      [[true, { key: 'f/B', reference: 'B', outcome: 'dead', field: null, code: ERR.code, message: ERR.message }]],
      [[true, { key: 'f/C', reference: 'C', outcome: 'rejected', field: 'POSTCODE', code: REFUSED.code, message: REFUSED.message }]],
    ]);
    expect((await all(runProblems(env.ts.store, other))).map((x) => x.key)).toEqual(['f/X']);
    expect([await countRunProblems(env.ts.store, mine), await countRunProblems(env.ts.store, other)]).toEqual([3, 1]);
  });

  it('reads and counts a run still going up to the log head (none for a run without any), and refuses a run never started', async () => {
    const p = name();
    const run = await env.ledger.startRun(p, 'runner:test:2', 'sha256:m');
    await env.ledger.receive(p, run, [sub('g/A')], 'runner:test:2');
    await env.ledger.apply(p, run, [{ key: 'g/A', to: 'rejected', error: BAD_SURNAME }], 'runner:test:2');
    expect((await all(runProblems(env.ts.store, run))).map((x) => [x.reference, x.field])).toEqual([['A', 'SURNAME, DOB']]);
    expect(await countRunProblems(env.ts.store, run)).toBe(1);
    expect(await countRunProblems(env.ts.store, (await env.ledger.startRun(p, 'runner:test:2', 'sha256:m')))).toBe(0);
    await expect(countRunProblems(env.ts.store, 'no-such-run')).rejects.toMatchObject({ code: PipelineCodes.LEDGER_UNKNOWN_RUN.code });
    await expect(all(runProblems(env.ts.store, 'no-such-run'))).rejects.toMatchObject({ code: PipelineCodes.LEDGER_UNKNOWN_RUN.code, message: 'no run "no-such-run" was started' });
  });
});
