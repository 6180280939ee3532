import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { pausePipeline, pipelineControls, resumePipeline } from '../../pipelines/ledger/controls.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openTestStore } from '../../pipelines/store/store.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { createLogger } from '../logging.js';
import { Scheduler } from './scheduler.js';
import { startServer } from './server.js';

interface StatusBody {
  pipelines: { name: string; cron: string | null; nextRun: string | null; paused: { by: string; reason: string | null; since: string } | null }[];
}

describe('/status of rekey serve', () => {
  it('shows which pipelines are paused, by whom, why and since when, as the state store holds it', async () => {
    const ts = await openTestStore('sqlite');
    const log = createLogger({ level: 'warn', pretty: false, destination: new Writable({ write: (_c, _e, done) => done() }) });
    const audit = new AuditLog(ts.store);
    const ledger = new Ledger(ts.store, audit, TEST_KEYS);
    const scheduler = new Scheduler(log);
    const idle = async () => undefined;
    scheduler.add('licences', '0 2 * * *', 'Europe/London', idle);
    scheduler.add('addresses', '*/5 * * * *', 'Europe/London', idle);
    // A pipeline paused in the shared store that this serve does not run is not listed.
    await pausePipeline(ts.store, audit, 'elsewhere', 'operator:carol', 'not ours');
    const server = await startServer({ host: '127.0.0.1', port: 0, scheduler, ledger, controls: () => pipelineControls(ts.store), log });
    const status = async () => (await (await fetch(`${server.url}/status`)).json()) as StatusBody;
    try {
      const before = await status();
      expect(before.pipelines.map((p) => [p.name, p.paused])).toEqual([
        ['licences', null],
        ['addresses', null],
      ]);
      expect(before.pipelines[0]!.nextRun).toEqual(expect.any(String));

      const control = await pausePipeline(ts.store, audit, 'licences', 'console:olly.operator', 'legacy system upgrade tonight');
      const paused = await status();
      expect(paused.pipelines[0]).toMatchObject({
        name: 'licences',
        cron: '0 2 * * *',
        nextRun: null,
        paused: { by: 'console:olly.operator', reason: 'legacy system upgrade tonight', since: control.since.toISOString() },
      });
      expect(paused.pipelines[1]).toMatchObject({ name: 'addresses', paused: null, nextRun: expect.any(String) });
      expect(paused.pipelines.map((p) => p.name)).not.toContain('elsewhere');

      await resumePipeline(ts.store, audit, 'licences', 'operator:alice');
      const resumed = await status();
      expect(resumed.pipelines[0]).toMatchObject({ name: 'licences', paused: null, nextRun: expect.any(String) });
    } finally {
      await server.close();
      await scheduler.stop();
      await ts.dispose();
    }
  });
});
