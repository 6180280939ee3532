/**
 * The conformance suite every target runs (in the spirit of the Singer
 * SDK's target tests): a target passes it by providing a
 * {@link ConformanceTarget}, one small file per target
 * (`connectors/<kind>/<kind>.conformance.test.ts`). Everything goes through
 * real `rekey run` processes (the built CLI: `npm run build` first) into a
 * real legacy system:
 * - exactly once across kill -9 at the named crash points, then a restart;
 * - after an uncertain attempt (killed after the target committed, before
 *   the ledger heard, or a failure whose answer was lost where the legacy
 *   system can be made to lose one), the target probes and keys nothing
 *   twice;
 * - one bad record in a batch is rejected with its exact error, the rest
 *   delivered, nothing lost;
 * - read-back, where the target has it;
 * - close and reconnect: a second run on a new connection delivers new
 *   records and keys nothing twice;
 * - a secret of the target config (read from the environment) and the
 *   submissions' PII never appear in the output, nor a secret in any file.
 * A new target gets the suite by adding one file that calls
 * {@link targetConformance} with its factory; a part it cannot run (no
 * read-back, no secret setting) shows as skipped, saying why.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killPoints } from '../../lib/test-tier.test-helpers.js';
import type { PassExit } from '../../runner/cli.test-helpers.js';
import type { ConnectorError } from '../connector.types.js';
import { auditOf, filesContaining, keyOf, ledgerRows, summaryOf, WorkDir } from './conformance.run.js';

/** One record as the legacy system holds it: the submission key it was keyed for and, where it has one, the legacy reference. */
export interface LegacyRecord {
  key: string;
  ref?: string;
}

/** A fresh legacy system (a table, a folder, a web app's store) for one scenario. */
export interface LegacySystem {
  /** The pipeline's `target:` block; secrets as `{ env: NAME }`. */
  target: { kind: string; config: Record<string, unknown> };
  /** Where the records go (a table name, a folder), as the target's error messages name it. */
  where: string;
  /** Environment the runs need (the values of the `{ env: NAME }` references). */
  env: Record<string, string>;
  /** A secret among `env`'s values that must never be shown or stored; required when the target has a `secretSetting`. */
  secret?: string;
  /** Every record the legacy system holds, one entry per copy (a key keyed twice appears twice). */
  records(): Promise<LegacyRecord[]>;
  /** Target-specific checks that hold after any run, even a killed one (files whole, nothing temporary in view). */
  check?(): Promise<void>;
  /** Makes the legacy system store the next `n` records it is sent but answer each with a failure (a lost answer); undefined when it cannot. */
  loseNextAnswers?(n: number): void;
  /** Target-specific checks that hold once a run has finished cleanly (nothing temporary left in view). */
  settled?(): Promise<void>;
  /** Removes what the system left outside the work folder. */
  drop?(): Promise<void>;
}

/**
 * A crash point with its hit count (`after-target-commit:3`), optionally
 * with its own batch size (to reach another code path) and the number of
 * records the legacy system holds when the process dies (which proves the
 * kill landed where it was meant to; leave it out where the flow's overlap
 * of one batch's delivery with the last one's ledger update makes it vary,
 * as at `after-ledger-delivered`).
 */
export type CrashCase = string | { at: string; batch?: number; reached?: number };

/** What a target provides to run the suite. */
export interface ConformanceTarget {
  /** Shown in the suite's title: `sql on PostgreSQL`. */
  name: string;
  /** Why the target cannot run here (printed in the title, the suite skipped), or undefined. */
  skip?: string;
  /** Absolute path of the mapping file the pipelines use. */
  mapping: string;
  /** `n` distinct GOV.UK-shaped submissions the mapping maps, with references counted from `offset`. */
  submissions(n: number, offset: number): object[];
  /** Submissions per scenario, and the pipeline's batch size. */
  records: number;
  batch: number;
  /** Further top-level pipeline keys (limits). */
  pipeline?: Record<string, unknown>;
  /** Given to every `rekey run`; default `--workers 0` (mapping on the main thread: the targets are under test, not the pool). */
  runArgs?: string[];
  /**
   * Run the target as the only route of a routed pipeline, under this
   * route name (its deliveries then in the lane `conformance~<route>`);
   * absent: as the pipeline's one target.
   */
  route?: string;
  /** Kill points run one by one, each in a fresh legacy system. */
  crashAt: CrashCase[];
  /** Where to kill for the uncertain attempt (after the target made records visible, before the ledger heard); default `after-target-commit:1`. */
  uncertainAt?: string;
  /** Whether delivered records come back `confirmed` (read back); undefined: the target cannot read back. */
  readBack?: boolean;
  /** A copy of `body` that the target (not the mapping) rejects, and the exact error it is rejected with in `legacy`. */
  bad: { make(body: object): object; error(legacy: LegacySystem): ConnectorError };
  /** Which setting of the target holds a secret (`the database password`), read from the environment in every scenario; undefined when it has none. */
  secretSetting?: string;
  /** Personal data in `body` (as given and as mapped) that must never be logged. */
  pii(body: object): string[];
  /** Once before the suite (start a server, make a schema) and once after. */
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /** A fresh legacy system for a scenario run in `dir`. */
  legacy(dir: string): Promise<LegacySystem>;
}

const PIPELINE = 'conformance';
/** Per test: generous, since a scenario runs two or three `rekey run` processes (the browser's each start Chromium) on a busy machine. */
const TIMEOUT = 240_000;

/** One scenario: a work folder, its legacy system, the submissions it was given. */
interface Scenario {
  work: WorkDir;
  legacy: LegacySystem;
  bodies: object[];
  run(env?: Record<string, string>): Promise<PassExit>;
  finish(): Promise<PassExit>;
}

const show = (exit: PassExit) => `exit ${exit.code} ${exit.signal ?? ''}\n${exit.stdout.slice(-1000)}\n${exit.stderr.slice(-3000)}`;

function countByKey(records: readonly LegacyRecord[]): Map<string, LegacyRecord[]> {
  const out = new Map<string, LegacyRecord[]>();
  for (const r of records) out.set(r.key, [...(out.get(r.key) ?? []), r]);
  return out;
}

/** Runs the conformance suite for `t`. */
export function targetConformance(t: ConformanceTarget): void {
  const title = `conformance of the ${t.name} target${t.skip ? ` (skipped: ${t.skip})` : ''}`;
  /** Where the ledger and audit log keep the deliveries: the pipeline, or its one route's lane. */
  const lane = t.route ? `${PIPELINE}~${t.route}` : PIPELINE;
  describe.skipIf(t.skip !== undefined)(title, () => {
    const made: Scenario[] = [];
    beforeAll(async () => t.start?.(), TIMEOUT);
    afterAll(async () => {
      for (const s of made) {
        await s.legacy.drop?.();
        rmSync(s.work.dir, { recursive: true, force: true });
      }
      await t.stop?.();
    }, TIMEOUT);

    const scenario = async (bodies: object[], batch = t.batch): Promise<Scenario> => {
      const work = new WorkDir('rekey-conformance-', t.runArgs ?? ['--workers', '0']);
      const legacy = await t.legacy(work.dir);
      work.write({ name: PIPELINE, mapping: t.mapping, target: legacy.target, batch, extra: t.pipeline, route: t.route }, bodies);
      const s: Scenario = {
        work,
        legacy,
        bodies,
        run: (env = {}) => work.run({ ...legacy.env, ...env }),
        finish: () => work.finish(legacy.env),
      };
      made.push(s);
      return s;
    };

    /** Each of `keys` once in the legacy system and nothing else; the ledger says each was delivered, under the legacy system's reference. */
    const expectExactlyOnce = async (s: Scenario, keys: string[], before: LegacyRecord[] = []) => {
      await s.legacy.check?.();
      await s.legacy.settled?.();
      const held = countByKey(await s.legacy.records());
      expect([...held].filter(([, copies]) => copies.length !== 1).map(([k, copies]) => `${k} x${copies.length}`), 'keyed more than once').toEqual([]);
      expect([...held.keys()].sort()).toEqual([...keys].sort());
      for (const r of before) expect(held.get(r.key)?.[0]?.ref, `${r.key} kept its place`).toBe(r.ref);
      const rows = await ledgerRows(s.work.state, lane);
      expect(rows.filter((r) => r.state !== 'delivered').map((r) => `${r.key}: ${r.state} ${r.lastError?.message ?? ''}`)).toEqual([]);
      expect(rows).toHaveLength(keys.length);
      for (const r of rows) {
        const ref = held.get(r.key)?.[0]?.ref;
        if (ref !== undefined) expect(r.legacyRef, `${r.key}: the ledger's reference is the legacy system's`).toBe(ref);
      }
      const audit = await auditOf(s.work.state, lane);
      for (const event of ['received', 'delivered']) {
        const entries = audit.entries.filter((e) => e.event === event).map((e) => e.key);
        expect(entries.sort(), `one ${event} audit entry per key`).toEqual([...keys].sort());
      }
      expect(audit.verified, 'the audit hash chain verifies').toBe(true);
      return audit;
    };

    const crashCases = killPoints(t.crashAt).map((c) => (typeof c === 'string' ? { at: c, batch: t.batch, reached: undefined } : { batch: t.batch, reached: undefined, ...c }));
    it.each(crashCases)('kill -9 at $at (batch $batch), then a restart: every submission delivered exactly once', async ({ at, batch, reached }) => {
      const s = await scenario(t.submissions(Math.max(t.records, batch * 2 + 1), 0), batch);
      const crashed = await s.run({ REKEY_CRASH_AT: at });
      expect(crashed.signal, show(crashed)).toBe('SIGKILL');
      await s.legacy.check?.();
      const before = await s.legacy.records();
      expect([...countByKey(before)].filter(([, c]) => c.length > 1), 'keyed twice before the restart').toEqual([]);
      if (reached !== undefined) expect(before, 'records in the legacy system when the process died').toHaveLength(reached);
      const done = await s.finish();
      expect(done.code, show(done)).toBe(0);
      await expectExactlyOnce(s, s.bodies.map(keyOf), before);
    }, TIMEOUT);

    it(`probes after an uncertain attempt (killed at ${t.uncertainAt ?? 'after-target-commit:1'}): what reached the target is not keyed again`, async () => {
      const s = await scenario(t.submissions(t.records, 0));
      const crashed = await s.run({ REKEY_CRASH_AT: t.uncertainAt ?? 'after-target-commit:1' });
      expect(crashed.signal, show(crashed)).toBe('SIGKILL');
      const reached = await s.legacy.records();
      const known = new Set((await ledgerRows(s.work.state, lane)).filter((r) => r.state === 'delivered').map((r) => r.key));
      const uncertain = reached.map((r) => r.key).filter((k) => !known.has(k));
      expect(uncertain.length, 'records that reached the target without the ledger hearing of it').toBeGreaterThan(0);
      const done = await s.finish();
      expect(done.code, show(done)).toBe(0);
      const audit = await expectExactlyOnce(s, s.bodies.map(keyOf), reached);
      const found = audit.entries.filter((e) => e.event === 'delivered' && e.detail.alreadyPresent === true).map((e) => e.key);
      expect(found.sort(), 'delivered as already present: found by the probe').toEqual(uncertain.sort());
    }, TIMEOUT);

    it('probes after a failure whose answer was lost (the record stored all the same): keyed once', async (ctx) => {
      const s = await scenario(t.submissions(t.records, 0));
      if (!s.legacy.loseNextAnswers) return ctx.skip('the legacy system cannot lose an answer on purpose');
      s.legacy.loseNextAnswers(1);
      const done = await s.finish();
      expect(done.code, show(done)).toBe(0);
      expect(s.work.outputs.reduce((n, o) => n + summaryOf(o).failed!, 0), 'the lost answer counted as a failure').toBe(1);
      const audit = await expectExactlyOnce(s, s.bodies.map(keyOf));
      expect(audit.entries.filter((e) => e.event === 'delivered' && e.detail.alreadyPresent === true), 'found by the probe').toHaveLength(1);
    }, TIMEOUT);

    describe('one pass with a bad record, then another on a new connection', () => {
      const n = t.records;
      const badAt = 2;
      let s: Scenario;
      let first: PassExit;
      const logLevel = { REKEY_LOG_LEVEL: 'debug' };
      beforeAll(async () => {
        const bodies = t.submissions(n, 0);
        bodies[badAt] = t.bad.make(bodies[badAt]!);
        s = await scenario(bodies);
        first = await s.run(logLevel);
      }, TIMEOUT);

      it('rejects the one bad record with its exact error and delivers the rest, nothing lost', async () => {
        expect(summaryOf(first), show(first)).toMatchObject({ read: n, receivedNew: n, rejected: 1, delivered: n - 1, failed: 0, dead: 0, waitingRetry: 0 });
        expect(first.code, 'a run with a rejected record exits 1').toBe(1);
        const badKey = keyOf(s.bodies[badAt]!);
        const rows = await ledgerRows(s.work.state, lane);
        expect(rows).toHaveLength(n);
        expect(rows.find((r) => r.key === badKey)).toMatchObject({ state: 'rejected', lastError: t.bad.error(s.legacy) });
        expect(rows.filter((r) => r.key !== badKey && r.state !== 'delivered')).toEqual([]);
        await s.legacy.check?.();
        const held = countByKey(await s.legacy.records());
        expect([...held.keys()].sort()).toEqual(s.bodies.map(keyOf).filter((k) => k !== badKey).sort());
        expect([...held.values()].filter((c) => c.length !== 1)).toEqual([]);
      });

      it.skipIf(t.readBack === undefined)(`reads back what it wrote${t.readBack === undefined ? ' (skipped: the target cannot read back)' : ''}`, async () => {
        const rows = (await ledgerRows(s.work.state, lane)).filter((r) => r.state === 'delivered');
        expect(rows).toHaveLength(n - 1);
        expect(rows.filter((r) => r.confirmed !== t.readBack).map((r) => r.key)).toEqual([]);
      });

      it('delivers new records on a second run (a new connection) and keys nothing twice', async () => {
        const more = t.submissions(Math.max(2, Math.ceil(n / 4)), n);
        s.work.append(more);
        const second = await s.run(logLevel);
        expect(summaryOf(second), show(second)).toMatchObject({ read: n + more.length, receivedNew: more.length, duplicates: n, delivered: more.length, failed: 0 });
        const badKey = keyOf(s.bodies[badAt]!);
        const keys = [...s.bodies, ...more].map(keyOf).filter((k) => k !== badKey);
        const held = countByKey(await s.legacy.records());
        expect([...held].filter(([, c]) => c.length !== 1)).toEqual([]);
        expect([...held.keys()].sort()).toEqual(keys.sort());
      });

      const secretTitle = t.secretSetting ? `${t.secretSetting} (a secret)` : 'a secret (skipped: the target has no secret setting)';
      it(`never shows ${secretTitle} nor the submissions' PII in any output, nor stores the secret in any file`, async () => {
        const outputs = made.flatMap((m) => m.work.outputs);
        const text = outputs.map((o) => o.stdout + o.stderr).join('\n');
        const pii = [...new Set(made.flatMap((m) => m.bodies.flatMap((b) => t.pii(b))))];
        expect(pii.length).toBeGreaterThan(0);
        expect(pii.filter((v) => text.includes(v)), 'PII in the output').toEqual([]);
        if (!t.secretSetting) return;
        const secret = s.legacy.secret;
        expect(secret, 'the canary secret').toBeTruthy();
        expect(text.includes(secret!), 'the secret in stdout or stderr').toBe(false);
        expect(made.flatMap((m) => filesContaining(m.work.dir, secret!)), 'files holding the secret').toEqual([]);
      });
    });
  });
}
