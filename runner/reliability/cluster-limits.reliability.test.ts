/**
 * Several runners (issue 22): a limit holds across the cluster. The
 * browser example pipeline with `limits.concurrency: 2` (so two contexts
 * per runner) and batches of one, run by three `rekey run` processes at
 * once on one PostgreSQL schema against the legacy web app, the
 * submissions already in the ledger (read by an earlier run in a blackout). Alone, each
 * runner would key two forms at once, six in all; the app counts the
 * sessions keying a case at once and must never see more than two. Every
 * valid record is keyed once. Needs `npm run build` and Chromium.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { findChromium } from '../../connectors/browser/chromium.js';
import { DEFAULT_USER, startLegacyApp } from '../../fixtures/legacy-app/legacy-app.js';
import { pgSkipReason } from '../../pipelines/store/store.test-helpers.js';
import { root } from '../cli.test-helpers.js';
import { figure, pgSchema } from './reliability.test-helpers.js';
import { runProcess } from './cluster.test-helpers.js';

const RUNNERS = 3;
const LIMIT = 2;
const chromium = findChromium();
const skip = pgSkipReason ?? (chromium ? null : 'no Chromium');

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('a target limit across several runners', () => {
  it.skipIf(Boolean(skip))(`${RUNNERS} runners, limits.concurrency ${LIMIT}: at most ${LIMIT} sessions keying at the legacy app at once`, async () => {
    const schema = await pgSchema();
    cleanup.push(() => schema.drop());
    const app = await startLegacyApp();
    cleanup.push(() => app.close());
    const dir = mkdtempSync(join(tmpdir(), 'rekey-cluster-limits-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    type Def = Record<string, unknown> & { source: { config: Record<string, unknown> }; target: { config: Record<string, unknown> & { evidence: Record<string, unknown> } } };
    const def = parse(readFileSync(join(root, 'examples/pipelines/browser-change-of-address.yaml'), 'utf8')) as Def;
    def.mapping = join(root, 'examples/mappings/browser-change-of-address.yaml');
    def.source.config.path = join(root, 'fixtures/submissions/govuk-forms/change-of-address.ndjson');
    def.target.config.evidence.folder = join(dir, 'evidence');
    delete def.target.config.contexts;
    def.batch = { size: 1 };
    def.limits = { concurrency: LIMIT };
    const file = join(dir, 'pipeline.yaml');
    const env = { DCS_URL: app.url, DCS_USER: DEFAULT_USER.username, DCS_PASSWORD: DEFAULT_USER.password };
    // First the submissions into the ledger alone (today a blackout: read, not keyed), so the three
    // runners below share the due work instead of one reader keeping what it read.
    const today = new Date().toISOString().slice(0, 10);
    writeFileSync(file, stringify({ ...def, window: { timezone: 'UTC', blackout: [today] } }));
    const load = await runProcess(dir, file, schema.stateUrl(), env).exited;
    expect(JSON.parse(load.stdout), load.stderr.slice(-2000)).toMatchObject({ receivedNew: 11, delivered: 0 });
    writeFileSync(file, stringify(def));
    const runners = Array.from({ length: RUNNERS }, () => runProcess(dir, file, schema.stateUrl(), env));
    cleanup.push(() => {
      for (const r of runners) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    });
    const exits = await Promise.all(runners.map((r) => r.exited));
    const summaries = exits.map((e) => {
      expect(e.stdout.trim(), e.stderr.slice(-2000)).not.toBe('');
      return JSON.parse(e.stdout) as { delivered: number; failed: number };
    });
    figure(`cluster-limits runners=${RUNNERS} limit=${LIMIT} peakKeying=${app.keying.peak} deliveredByRunner=${summaries.map((s) => s.delivered).join('/')}`);
    expect(app.keying.peak).toBeGreaterThanOrEqual(1);
    expect(app.keying.peak).toBeLessThanOrEqual(LIMIT);
    expect(summaries.reduce((n, s) => n + s.delivered, 0)).toBe(8);
    const licences = app.store.cases.map((c) => c.licenceNo);
    expect(licences).toHaveLength(8);
    expect(new Set(licences).size).toBe(8);
    const rows = (await schema.query(`SELECT state, COUNT(*) AS n FROM ${schema.name}.ledger GROUP BY state ORDER BY state`)) as { state: string; n: string }[];
    expect(rows.map((r) => `${r.state}:${r.n}`)).toEqual(['delivered:8', 'rejected:3']);
  }, 480_000);
});
