/** `rekey status NAME` for a pipeline the state store does not know, by the built CLI. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rekeyCli as rekey } from '../cli.test-helpers.js';
import { P, seed } from './state.test-helpers.js';
import { PipelineCodes } from '../../pipelines/pipeline.errors.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

describe('rekey status NAME', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-status-cli-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const cli = (...args: string[]) => rekey([...args, '--state', url], dir);

  beforeAll(async () => {
    await seed(url);
    // A routed pipeline whose rows are all in its lanes (deaths~passport).
    const store = await openStateStore(url);
    const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    const run = await ledger.startRun('deaths~passport', 'runner:test:1', 'sha256:map');
    await ledger.receive('deaths~passport', run, [{ key: 'K1', contentHash: 'h1', body: { a: 1 }, source: 'in:1' }], 'runner:test:1');
    await store.close();
    writeFileSync(join(dir, 'pipeline.yaml'), 'pipeline: change-of-address\n');
  });

  it('refuses a pipeline the store does not know, with a code and exit 1', async () => {
    const [text, json] = await Promise.all([cli('status', 'nothing-here'), cli('status', 'nothing-here', '--json')]);
    for (const r of [text, json]) {
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `rekey: PIPELINE_UNKNOWN the state store has no pipeline "nothing-here" (it knows deaths~passport, ${P})\n  ${PipelineCodes.PIPELINE_UNKNOWN.hint}\n`,
      );
    }
  });

  it('given a pipeline file, says to give the name the file declares', async () => {
    const r = await cli('status', join(dir, 'pipeline.yaml'));
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `rekey: PIPELINE_UNKNOWN the state store has no pipeline "${join(dir, 'pipeline.yaml')}" (it knows deaths~passport, ${P}); that is a pipeline file: give the name it declares, rekey status change-of-address`,
    );
  });

  it('shows a known pipeline, a lane, and a routed pipeline whose rows are all in its lanes', async () => {
    const [known, lane, routed] = await Promise.all([cli('status', P, '--json'), cli('status', 'deaths~passport', '--json'), cli('status', 'deaths', '--json')]);
    expect(JSON.parse(known.stdout).pipelines[0]).toMatchObject({ pipeline: P, total: 5 });
    expect(JSON.parse(lane.stdout).pipelines[0]).toMatchObject({ pipeline: 'deaths~passport', total: 1 });
    expect(routed.code).toBe(0);
    expect(JSON.parse(routed.stdout).pipelines[0]).toMatchObject({ pipeline: 'deaths', total: 0 });
  });
});
