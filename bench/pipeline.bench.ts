/**
 * End-to-end pipeline throughput: an NDJSON file of fixture-shaped
 * submissions through the 12-field mapping into the SQLite target, with the
 * ledger and audit log, mapping on the main thread only and on 2 worker
 * threads; and the same 2-worker run without the ledger, to price it.
 */
import { BENCH_PII_KEY, benchPassOptions } from './pass-options.js';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadPipelineFile } from '../runner/pipeline-files.js';
import { flowPipeline } from '../pipelines/flow/flow-pipeline.js';
import { openRuntime } from '../runner/runtime.js';
import { MappingPool } from '../runner/pool/mapping-pool.js';
import { runPass } from '../pipelines/flow/pass.js';
import { mappingOptions } from '../runner/commands/run.command.js';
import { hasChunks } from '../pipelines/flow/chunks.js';
import type { MappedRecord } from '../connectors/connector.types.js';
import type { MapResult } from '../mappings/index.js';
import { makeSubmissions } from './data.js';
import { repoRoot, type Figure } from './mapping.bench.js';
import { cpuClock } from './cpu.js';

const FIELDS = ['REF', 'SURNAME', 'FORENAMES', 'TITLE', 'DOB', 'LICENCE', 'ADDR1', 'TOWN', 'POSTCODE', 'MOVED', 'WELSH', 'RECEIVED'];

/** Writes `total` fixture-shaped submissions (unique references) to `dir`/submissions.ndjson and returns its path. */
export async function writeInput(dir: string, total: number): Promise<string> {
  const file = join(dir, 'submissions.ndjson');
  const out = createWriteStream(file);
  for (let done = 0; done < total; done += 10_000) {
    const part = makeSubmissions(Math.min(10_000, total - done), 42 + done, done);
    if (!out.write(part.map((s) => JSON.stringify(s)).join('\n') + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return file;
}

function pipelineDir(base: string, name: string, input: string): string {
  writeFileSync(join(base, `${name}.sql`), `CREATE TABLE LEGACY (CASE_ID INTEGER PRIMARY KEY AUTOINCREMENT, SUBMISSION_KEY TEXT NOT NULL UNIQUE, ${FIELDS.map((f) => `${f} TEXT`).join(', ')});\n`);
  writeFileSync(
    join(base, `${name}.yaml`),
    [
      `pipeline: bench-${name}`,
      `mapping: ${join(repoRoot(), 'bench/mapping-12.yaml')}`,
      `source: { kind: file, config: { path: ${input} } }`,
      `target: { kind: sqlite, config: { path: ./${name}.legacy.sqlite, table: LEGACY, keyColumn: SUBMISSION_KEY, setupSql: ./${name}.sql } }`,
      'batch: { size: 2000 }',
      '',
    ].join('\n'),
  );
  return join(base, `${name}.yaml`);
}

const key = BENCH_PII_KEY;

async function withLedger(base: string, name: string, input: string, total: number, threads: number): Promise<Figure> {
  const loaded = await loadPipelineFile(pipelineDir(base, name, input));
  if (!loaded.pipeline) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  const runtime = await openRuntime(`sqlite:${join(base, `${name}.state.sqlite`)}`);
  const pool = threads ? new MappingPool(loaded.pipeline.mappingFile, threads, key) : undefined;
  if (pool) await pool.mapMany([]);
  const cpu = cpuClock();
  const t0 = process.hrtime.bigint();
  const r = await runPass(flowPipeline(loaded.pipeline), runtime.ledger, { ...benchPassOptions(), ...mappingOptions(pool, loaded.pipeline.mapping, key) });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuMicrosPerRecord = cpu(total);
  await pool?.close();
  await runtime.close();
  if (r.delivered !== total) throw new Error(`${name}: delivered ${r.delivered} of ${total}`);
  return { name: `${name} (${threads ? `${threads} workers` : 'main thread only'}, ledger and audit)`, records: total, seconds, perSecond: total / seconds, cpuMicrosPerRecord };
}

async function withoutLedger(base: string, name: string, input: string, total: number, threads: number): Promise<Figure> {
  const loaded = await loadPipelineFile(pipelineDir(base, name, input));
  if (!loaded.pipeline) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  const { source, target, mapping } = loaded.pipeline;
  if (!hasChunks(source)) throw new Error('the file source offers no chunks');
  const pool = new MappingPool(loaded.pipeline.mappingFile, threads);
  await pool.mapMany([]);
  const ctx = { log: pino({ level: 'warn' }), signal: new AbortController().signal, attempt: 1 };
  const cpu = cpuClock();
  const t0 = process.hrtime.bigint();
  await target.connect(ctx);
  let delivered = 0;
  const queue: ReturnType<MappingPool['mapChunk']>[] = [];
  const settle = async () => {
    const r = await queue.shift()!;
    const results = JSON.parse(r.results) as MapResult[];
    const batch: MappedRecord[] = results.map((x, i) => ({ key: r.keys[i]!, record: x.record, children: x.children, mappingVersion: mapping.version, uncertain: false }));
    for (let i = 0; i < batch.length; i += 2000) delivered += (await target.deliver(batch.slice(i, i + 2000), ctx)).filter((o) => o.status === 'delivered').length;
  };
  for await (const chunk of source.chunks(ctx)) {
    queue.push(pool.mapChunk(chunk));
    if (queue.length >= threads * 2) await settle();
  }
  while (queue.length) await settle();
  await target.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuMicrosPerRecord = cpu(total);
  await pool.close();
  if (delivered !== total) throw new Error(`${name}: delivered ${delivered} of ${total}`);
  return { name: `${name} (${threads} workers, no ledger)`, records: total, seconds, perSecond: total / seconds, cpuMicrosPerRecord };
}

/** Runs the pipeline benchmark over `total` submissions. */
export async function pipelineBench(total = 1_000_000): Promise<Record<string, unknown>> {
  const base = mkdtempSync(join(process.env.REKEY_BENCH_DIR ?? tmpdir(), 'rekey-bench-'));
  try {
    const input = await writeInput(base, total);
    const only = process.env.REKEY_BENCH_ONLY;
    if (only) {
      const run = { main: () => withLedger(base, 'main', input, total, 0), workers: () => withLedger(base, 'workers', input, total, 2), bare: () => withoutLedger(base, 'bare', input, total, 2) }[only];
      if (!run) throw new Error(`REKEY_BENCH_ONLY must be main, workers or bare, got ${only}`);
      return { benchmark: 'pipeline', figures: [await run()], note: 'one configuration only (REKEY_BENCH_ONLY): no ratios' };
    }
    const main = await withLedger(base, 'main', input, total, 0);
    const workers = await withLedger(base, 'workers', input, total, 2);
    const bare = await withoutLedger(base, 'bare', input, total, 2);
    return {
      benchmark: 'pipeline',
      figures: [main, workers, bare],
      ratios: {
        twoWorkersVsMainThread: workers.perSecond / main.perSecond,
        ledgerCost: 1 - workers.perSecond / bare.perSecond,
        // What the ledger would cost were both runs bound by CPU alone: its share of the CPU a submission takes.
        ledgerCostByCpu: 1 - bare.cpuMicrosPerRecord! / workers.cpuMicrosPerRecord!,
      },
      goals: { twoWorkersVsMainThread: '>= 1.6', ledgerCost: '< 0.30' },
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
