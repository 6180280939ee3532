/**
 * Reliability: SIGTERM drain (issue 23). `rekey run` on numbered
 * submissions, sent SIGTERM at a random moment (seeded) once it has
 * begun to deliver: it finishes the batch in hand and exits by itself (not killed
 * by the signal) with its summary; new submissions arrive between runs;
 * then a run to the end. Nothing lost or duplicated at the legacy table,
 * the ledger says each was delivered. Bounded form: 5 signals; long: 50.
 * Needs `npm run build`.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { auditOf, keyOf, ledgerRows, summaryOf, WorkDir } from '../../connectors/conformance/conformance.run.js';
import { after, counted, figure, legacyTable, once, pick, runSignalled, SEED, seeded, tally, timeoutFor } from './reliability.test-helpers.js';

const SIGNALS = pick(5, 50, process.env.REKEY_RELIABILITY_SIGNALS);
const FIRST = 100;
const STEP = 40;
const work = new WorkDir('rekey-sigterm-');
afterAll(() => rmSync(work.dir, { recursive: true, force: true }));

describe('SIGTERM drain', () => {
  it(
    `${SIGNALS} runs stopped with SIGTERM mid-delivery, then run to the end: each exits by itself, none lost, none duplicated`,
    async () => {
      const legacy = await legacyTable(work, 'sqlite');
      const pipeline = 'sigterm-drain';
      work.write({ name: pipeline, mapping: BENCH_MAPPING, target: legacy.target, batch: 10, extra: { limits: { ratePerSecond: 40 } } }, benchSubmissions(FIRST, 0));
      let submitted = FIRST;
      const random = seeded(SEED + 300);
      let drained = 0;
      let midWork = 0;
      let runs = 0;
      let outside = 0;
      const exits: string[] = [];
      while (drained < SIGNALS && runs < SIGNALS * 3) {
        runs++;
        // Once the pass delivers (a new row at the legacy table), then a random moment within the next second.
        const before = (await legacy.keys()).length;
        const delay = Math.floor(random() * 700);
        const r = await runSignalled(work, 'SIGTERM', once(async () => (await legacy.keys()).length > before).then(() => after(delay)));
        exits.push(`${r.code ?? r.signal}`);
        const heldNow = (await legacy.keys()).length;
        work.append(benchSubmissions(STEP, submitted));
        submitted += STEP;
        // The handlers are set from start-up to the end of closing down; a signal can still end the process itself
        // while Node loads the modules or in the last moment of exiting, with no work in hand.
        if (r.signal === 'SIGTERM') {
          outside++;
          continue;
        }
        summaryOf(r); // throws unless it printed its summary
        if (r.sent) {
          drained++;
          // Stopped with work left: the drain, not the end of the work.
          if (/stopping: finishing the batch in hand/.test(r.stderr) && heldNow < submitted - STEP) midWork++;
          expect(r.code, r.stderr.slice(-1500)).toBe(0);
        }
      }
      const done = await work.finish();
      expect(done.code, done.stderr.slice(-2000)).toBe(0);

      const keys = benchSubmissions(submitted, 0).map(keyOf);
      const t = tally(keys, await legacy.keys());
      const ledger = await ledgerRows(work.state, pipeline);
      const notDelivered = ledger.filter((r) => r.state !== 'delivered');
      const audit = await auditOf(work.state, pipeline);
      figure(
        `SIGTERM drain, state sqlite, target sqlite: ${drained} runs drained on SIGTERM and exited by themselves (${midWork} with work left), ${outside} more ended by the signal outside the pass; exits ${counted(exits)}, ${submitted} submissions, lost ${t.lost.length}, duplicated ${t.duplicated.length}, ledger not delivered ${notDelivered.length}, audit chain ${audit.verified ? 'verifies' : 'BROKEN'} (seed ${SEED})`,
      );
      expect(drained).toBe(SIGNALS);
      expect(midWork, 'some signals landed mid-work').toBeGreaterThan(0);
      expect(t.lost, 'lost').toEqual([]);
      expect(t.duplicated, 'duplicated').toEqual([]);
      expect(notDelivered.map((r) => `${r.key}: ${r.state}`)).toEqual([]);
      expect(ledger).toHaveLength(submitted);
      expect(audit.verified).toBe(true);
    },
    timeoutFor(SIGNALS * 3),
  );
});
