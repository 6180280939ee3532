import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rekeyCli as rekey, TEST_PII_KEY_HEX, type Run } from '../cli.test-helpers.js';
import { routedPipelineDir } from './cases.test-helpers.js';
import { openStateStore } from '../../pipelines/store/state-store.js';

const env = { REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn', USER: 'dpo' };
const KEY = 'Report a death/KJ5AT6RV';

describe('rekey erase (the built CLI) on a pipeline with routes', () => {
  let dir = '';
  const cli = (...args: string[]): Promise<Run> => rekey([...args, '--state', `sqlite:${join(dir, 'state.sqlite')}`], dir, env);
  /** The lanes and pipeline that hold a body of `key`. */
  const bodiesOf = async (key: string): Promise<string[]> => {
    const store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
    try {
      const rows = await store.select<{ pipeline: string }>('SELECT l.pipeline AS pipeline FROM ledger l JOIN ledger_bodies b ON b.id = l.id WHERE l.key = $1 ORDER BY l.pipeline', [key]);
      return rows.map((r) => r.pipeline);
    } finally {
      await store.close();
    }
  };

  beforeAll(async () => {
    dir = routedPipelineDir();
    expect((await cli('run', join(dir, 'p.yaml'))).code).toBe(1);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses the start of a reference, erasing nothing', async () => {
    const r = await cli('erase', 'death', 'KJ5A', '--reason', 'DPO-17');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`LEDGER_BAD_REQUEST "KJ5A" is only the start of "${KEY}": an erasure cannot be undone`);
    expect(await bodiesOf(KEY)).toEqual(['death~council-tax', 'death~driving-licence']);
  });

  it("erases the whole case, in every route's lane, each audited, and refuses it again", async () => {
    const r = await cli('erase', 'death', 'KJ5AT6RV', '--reason', 'DPO-17', '--operator', 'dpo');
    expect(r.stderr).toBe('');
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      `erased ${KEY} of death~council-tax as operator:dpo: its body and data key, 0 conflict(s) and 0 file(s) destroyed`,
      `erased ${KEY} of death~driving-licence as operator:dpo: its body and data key, 0 conflict(s) and 0 file(s) destroyed`,
    ]);
    expect(r.code).toBe(0);
    expect(await bodiesOf(KEY)).toEqual([]);
    expect((await bodiesOf('Report a death/DT4KM8PA')).length).toBeGreaterThan(0);
    for (const lane of ['death~council-tax', 'death~driving-licence']) {
      const show = JSON.parse((await cli('show', lane, 'KJ5AT6RV', '--json')).stdout) as { erasedAt: string | null; steps: { event: string; actor: string; reason?: string }[] };
      expect(show.erasedAt).not.toBeNull();
      expect(show.steps.filter((e) => e.event === 'erased').map((e) => [e.actor, e.reason])).toEqual([['operator:dpo', 'DPO-17']]);
    }
    const again = await cli('erase', 'death', KEY, '--reason', 'DPO-17');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`SUBMISSION_ERASED ${KEY} of death was erased before, in every route holding it`);
  });
});
