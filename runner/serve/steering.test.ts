import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { isPaused } from '../../pipelines/ledger/controls.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { getPass } from '../../pipelines/ledger/runs-history.js';
import { PipelineCodes } from '../../pipelines/pipeline.errors.js';
import { openTestStore, TEST_DIALECTS } from '../../pipelines/store/store.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { createLogger } from '../logging.js';
import { Scheduler, type PassTrigger } from './scheduler.js';
import { ServeSteering } from './steering.js';

const SUMMARY = { read: 0, receivedNew: 0, duplicates: 0, conflicts: 0, unreadable: 0, rejected: 0, delivered: 0, failed: 0, dead: 0 };

describe.each(TEST_DIALECTS)('the console steering of rekey serve (%s)', (dialect) => {
  it('runs now for a person (trigger recorded), answers already-running and paused, pauses and resumes through the store', async () => {
    const ts = await openTestStore(dialect);
    const logs: string[] = [];
    const log = createLogger({ level: 'info', pretty: false, destination: new Writable({ write: (c: Buffer, _e, done) => (logs.push(c.toString()), done()) }) });
    const audit = new AuditLog(ts.store);
    const ledger = new Ledger(ts.store, audit, TEST_KEYS);
    const scheduler = new Scheduler(log, { isPaused: (name) => isPaused(ts.store, name) });
    const steering = new ServeSteering(ts.store, audit, scheduler);
    const runs: string[] = [];
    let release: () => void = () => undefined;
    const pass = async (trigger: PassTrigger) => {
      const id = await ledger.startRun('steered', 'runner:test:1', null, null, undefined, trigger);
      runs.push(id);
      await new Promise<void>((r) => (release = r));
      await ledger.finishRun(id, SUMMARY);
      return SUMMARY;
    };
    const ended: PassTrigger[] = [];
    scheduler.onPassEnd((e) => ended.push(e.trigger));
    steering.add(scheduler.add('steered', undefined, 'Europe/London', pass), pass);
    try {
      expect(steering.pipelines()).toEqual(['steered']);
      expect(await steering.runNow('steered', 'operator:alice')).toBe('started');
      expect(await steering.runNow('steered', 'operator:bob')).toBe('already-running');
      while (!runs.length) await new Promise((r) => setImmediate(r));
      release();
      while (ended.length < 1) await new Promise((r) => setImmediate(r));
      expect((await getPass(ts.store, runs[0]!)).trigger).toEqual({ kind: 'console', by: 'operator:alice' });

      await steering.pause('steered', 'operator:alice', 'freeze');
      expect(await steering.runNow('steered', 'operator:bob')).toBe('paused');
      await scheduler.runNow(scheduler.pipelines[0]!, pass, { kind: 'schedule' });
      expect(runs).toHaveLength(1);
      expect(logs.filter((l) => l.includes('the pipeline is paused; this wake-up is skipped')).map((l) => (JSON.parse(l) as { trigger: string }).trigger)).toEqual(['console', 'schedule']);
      await expect(steering.pause('steered', 'operator:bob', 'again')).rejects.toMatchObject({ code: PipelineCodes.PIPELINE_ALREADY_PAUSED.code });
      await steering.resume('steered', 'operator:bob');
      await expect(steering.resume('steered', 'operator:bob')).rejects.toMatchObject({ code: PipelineCodes.PIPELINE_NOT_PAUSED.code });
      expect(await steering.runNow('steered', 'operator:bob')).toBe('started');
      while (runs.length < 2) await new Promise((r) => setImmediate(r));
      release();
      while (ended.length < 2) await new Promise((r) => setImmediate(r));
      expect(ended).toEqual([
        { kind: 'console', by: 'operator:alice' },
        { kind: 'console', by: 'operator:bob' },
      ]);
      // Each run now that started a pass is its own audit event, before the pass's own entries; the refused ones wrote nothing.
      const logged = await ts.store.select<{ event: string; actor: string; detail: string }>("SELECT event, actor, detail FROM audit_log WHERE pipeline = 'steered' ORDER BY seq");
      expect(logged.map((e) => [e.event, e.actor])).toEqual([
        ['run-requested', 'operator:alice'],
        ['run-started', 'runner:test:1'],
        ['run-finished', 'runner:test:1'],
        ['pipeline-paused', 'operator:alice'],
        ['pipeline-resumed', 'operator:bob'],
        ['run-requested', 'operator:bob'],
        ['run-started', 'runner:test:1'],
        ['run-finished', 'runner:test:1'],
      ]);
      expect(JSON.parse(logged[0]!.detail)).toEqual({ keys: [] });
      expect((await audit.verify()).ok).toBe(true);

      const unknown = { code: PipelineCodes.LEDGER_BAD_REQUEST.code, message: 'this rekey serve runs no pipeline "elsewhere"' };
      await expect(steering.runNow('elsewhere', 'operator:bob')).rejects.toMatchObject(unknown);
      await expect(steering.pause('elsewhere', 'operator:bob', 'why')).rejects.toMatchObject(unknown);
      await expect(steering.resume('elsewhere', 'operator:bob')).rejects.toMatchObject(unknown);
    } finally {
      await scheduler.stop();
      await ts.dispose();
    }
  });
});
