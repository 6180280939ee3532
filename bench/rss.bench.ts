/**
 * A runner's peak memory against the size of its input (issue 22: peak
 * RSS flat from 200,000 to 1,000,000 submissions): `rekey run --workers N`
 * as a real process, the ledger and audit log on a fresh SQLite state
 * store, the 12-field mapping into the SQLite target, on NDJSON files of
 * each size in REKEY_BENCH_RSS_SIZES (default `200000,1000000`); mapping
 * worker threads REKEY_BENCH_RSS_WORKERS (default 2; 0 maps on the main
 * thread, to tell the workers' share of memory). Peak RSS
 * is the process's VmHWM (its worker threads included). Each run is
 * checked: every submission delivered, the legacy table holding each once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Figure } from './mapping.bench.js';
import { pipelineDir, writeInput } from './pipeline.bench.js';
import { rekeyRun } from './rekey-process.js';

/** One size: its run's figure, with the peak RSS in MB. */
async function rssRun(records: number, workers: number): Promise<Figure & { peakRssMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-bench-rss-'));
  try {
    const input = await writeInput(dir, records);
    pipelineDir(dir, 'pipeline', input);
    const t0 = process.hrtime.bigint();
    const exit = await rekeyRun(dir, `sqlite:${join(dir, 'state.sqlite')}`, {}, { args: ['--workers', String(workers)], peakRss: true });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (exit.code !== 0) throw new Error(`rekey run failed (${exit.code}): ${exit.stderr.slice(-2000)}`);
    const summary = JSON.parse(exit.stdout) as { read: number; delivered: number };
    if (summary.read !== records || summary.delivered !== records) throw new Error(`read ${summary.read} and delivered ${summary.delivered} of ${records}`);
    const db = new DatabaseSync(join(dir, 'pipeline.legacy.sqlite'), { readOnly: true });
    const row = db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT SUBMISSION_KEY) AS k FROM LEGACY').get() as { n: number; k: number };
    db.close();
    if (row.n !== records || row.k !== records) throw new Error(`the legacy table holds ${row.n} rows, ${row.k} keys, for ${records} submissions`);
    const peakRssMb = Math.round((exit.peakRssBytes ?? 0) / 1048576);
    return { name: `rekey run --workers ${workers}, ${records.toLocaleString('en-GB')} submissions (peak RSS ${peakRssMb} MB)`, records, seconds, perSecond: records / seconds, peakRssMb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs every size, smallest first; `flat` is the largest run's peak RSS over the smallest's. */
export async function rssBench(sizes: number[], workers = 2): Promise<Record<string, unknown>> {
  const figures = [];
  for (const n of [...sizes].sort((a, b) => a - b)) figures.push(await rssRun(n, workers));
  const first = figures[0]!;
  const last = figures.at(-1)!;
  return { benchmark: 'rss', figures, peakRssRatio: Number((last.peakRssMb / first.peakRssMb).toFixed(2)), goal: 'peak RSS flat from the smallest size to the largest' };
}
