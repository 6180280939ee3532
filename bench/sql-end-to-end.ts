/**
 * The sql-target benchmark's end-to-end run: fixture-shaped submissions
 * (bench/data.ts) from an NDJSON file, mapped by bench/mapping-cases.yaml on
 * 2 worker threads, recorded in the SQLite ledger with the audit log,
 * delivered by the `sql` target's COPY path into the legacy `cases` table on
 * PostgreSQL and their outcomes recorded: one pass of the runner, built as
 * `rekey run` builds it (pipeline file, mapping pool with the PII key and
 * the mapping's version, its default lease and no retry wait).
 */
import { BENCH_PII_KEY, benchPassOptions } from './pass-options.js';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatProblem } from '../mappings/index.js';
import { loadPipelineFile } from '../runner/pipeline-files.js';
import { flowPipeline } from '../pipelines/flow/flow-pipeline.js';
import { openRuntime } from '../runner/runtime.js';
import { MappingPool } from '../runner/pool/mapping-pool.js';
import { mappingOptions } from '../runner/commands/run.command.js';
import { runPass } from '../pipelines/flow/pass.js';
import type { StateCounts } from '../pipelines/ledger/ledger.js';
import { DEFAULT_CHUNK_BYTES } from '../connectors/file-inbox/file.config.js';
import { writeInput } from './pipeline.bench.js';
import { repoRoot, type Figure } from './mapping.bench.js';
import { cpuClock, serverCpuClock } from './cpu.js';
import pino from 'pino';
import { hasChunks } from '../pipelines/flow/chunks.js';
import type { ChunkResult } from '../pipelines/flow/chunk.types.js';
import type { LoadedPipeline } from '../runner/pipeline-files.js';

/** Mapping worker threads, as in the pipeline benchmark's 2-worker run. */
const THREADS = 2;
/** Records handed to the target at once (the target-only runs' batch); a 1 MiB chunk of the file holds fewer. */
const BATCH = 5_000;
/** `rekey run`'s default `--lease`. */
const LEASE_MS = 60_000;
const PIPELINE = 'bench-sql-end-to-end';
const URL_VAR = 'REKEY_BENCH_SQL_URL';

/** What the end-to-end run needs from the benchmark around it. */
export interface EndToEndSetup {
  /** PostgreSQL URL; handed to the pipeline through the environment, as a pipeline file takes it. */
  pgUrl: string;
  /** `schema.cases`, empty. */
  table: string;
  total: number;
  /** Runs one SELECT on the benchmark's own connection and returns its rows. */
  select: (sql: string) => Promise<Record<string, unknown>[]>;
}

/** The run's figure, the mapping stage's alone, and what was checked after the run. */
export interface EndToEndResult {
  figure: Figure;
  /** The same file through the workers' stage only (read, parse, key, content hash, map, PII hashes): no ledger, no target. The most end to end could reach here. */
  stage: Figure;
  checks: { tableRows: number; distinctKeys: number; distinctWebRefs: number; ledgerDelivered: number; ledgerOther: number; inputBytes: number; ledgerBytes: number; submissionsPerChunk: number };
}

function pipelineFile(dir: string, input: string, table: string): string {
  const file = join(dir, 'sql-end-to-end.yaml');
  writeFileSync(
    file,
    [
      `pipeline: ${PIPELINE}`,
      `mapping: ${join(repoRoot(), 'bench/mapping-cases.yaml')}`,
      `source: { kind: file, config: { path: ${input} } }`,
      `target: { kind: sql, config: { url: { env: ${URL_VAR} }, table: ${table}, keyColumn: SUBMISSION_KEY, batchSize: 1000 } }`,
      `batch: { size: ${BATCH} }`,
      '',
    ].join('\n'),
  );
  return file;
}

/**
 * The workers' stage alone over the pipeline's file: its chunks read and
 * mapped on `pool` with `inFlight` chunks in the workers, as the pass does,
 * and the answers' records counted; nothing recorded or delivered. Throws
 * unless every one of `total` submissions was mapped.
 */
async function mappingStage(source: LoadedPipeline['source'], inFlight: number, pool: MappingPool, total: number): Promise<Figure> {
  if (!hasChunks(source)) throw new Error('the file source offers no chunks');
  const ctx = { log: pino({ level: 'warn' }), signal: new AbortController().signal, attempt: 1 };
  const queue: Promise<ChunkResult>[] = [];
  let mapped = 0;
  const take = async () => {
    const r = await queue.shift()!;
    mapped += (JSON.parse(r.results) as unknown[]).length;
  };
  const cpu = cpuClock();
  const t0 = process.hrtime.bigint();
  for await (const chunk of source.chunks(ctx)) {
    queue.push(pool.mapChunk(chunk));
    if (queue.length >= inFlight) await take();
  }
  while (queue.length) await take();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (mapped !== total) throw new Error(`mapping stage: mapped ${mapped} of ${total}`);
  const name = `mapping stage alone (${THREADS} workers: read, parse, key, content hash, map, PII hashes; no ledger, no target)`;
  return { name, records: total, seconds, perSecond: total / seconds, cpuMicrosPerRecord: cpu(total) };
}

/**
 * Runs the pass over `total` new submissions into the empty `table`, timed
 * from the start of the pass to its summary (the input file is written and
 * the workers started before). Throws when the pass does not deliver every
 * submission, or afterwards the table does not hold exactly one row per
 * submission (count, distinct keys, distinct references) or the ledger does
 * not hold every one as delivered.
 */
export async function sqlEndToEnd(s: EndToEndSetup): Promise<EndToEndResult> {
  const dir = mkdtempSync(join(process.env.REKEY_BENCH_DIR ?? tmpdir(), 'rekey-bench-sql-'));
  try {
    const input = await writeInput(dir, s.total);
    const loaded = await loadPipelineFile(pipelineFile(dir, input, s.table), { env: { ...process.env, [URL_VAR]: s.pgUrl } });
    if (!loaded.pipeline) throw new Error(loaded.problems.map(formatProblem).join('\n'));
    const lp = loaded.pipeline;
    const key = BENCH_PII_KEY;
    const runtime = await openRuntime(`sqlite:${join(dir, 'state.sqlite')}`);
    const pool = new MappingPool(resolve(lp.mappingFile), THREADS, key, lp.mapping.version);
    let result: Awaited<ReturnType<typeof runPass>>;
    let seconds: number;
    let state: StateCounts | undefined;
    let cpuMicrosPerRecord: number;
    let serverCpuMicrosPerRecord: number | undefined;
    let stage: Figure;
    try {
      await pool.mapMany([]);
      // As `rekey run` does with workers on a SQLite state file: the ledger's writes on a thread of their own.
      const ledger = await runtime.threadedLedger();
      const cpu = cpuClock();
      const server = serverCpuClock();
      const t0 = process.hrtime.bigint();
      const options = { ...benchPassOptions(LEASE_MS), ...mappingOptions(pool, lp.mapping, key) };
      result = await runPass(flowPipeline(lp), ledger, options);
      seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      cpuMicrosPerRecord = cpu(s.total);
      serverCpuMicrosPerRecord = server(s.total);
      state = (await runtime.ledger.counts(PIPELINE))[PIPELINE];
      stage = await mappingStage(lp.source, options.chunksInFlight ?? THREADS * 2, pool, s.total);
    } finally {
      await pool.close();
      await runtime.close();
    }
    if (result.delivered !== s.total) throw new Error(`end to end: the pass delivered ${result.delivered} of ${s.total}: ${JSON.stringify(result)}`);
    const inputBytes = statSync(input).size;
    const [row] = await s.select(`SELECT count(*) AS n, count(DISTINCT submission_key) AS keys, count(DISTINCT web_ref) AS refs FROM ${s.table}`);
    const checks = {
      tableRows: Number(row?.n),
      distinctKeys: Number(row?.keys),
      distinctWebRefs: Number(row?.refs),
      ledgerDelivered: state?.delivered ?? 0,
      ledgerOther: Object.entries(state ?? {}).reduce((sum, [k, v]) => (k === 'delivered' ? sum : sum + v), 0),
      inputBytes,
      ledgerBytes: statSync(join(dir, 'state.sqlite')).size,
      submissionsPerChunk: Math.round(s.total / Math.ceil(inputBytes / DEFAULT_CHUNK_BYTES)),
    };
    const { tableRows, distinctKeys, distinctWebRefs, ledgerDelivered, ledgerOther } = checks;
    if (tableRows !== s.total || distinctKeys !== s.total || distinctWebRefs !== s.total) {
      throw new Error(`end to end: ${s.table} holds ${tableRows} rows, ${distinctKeys} distinct keys and ${distinctWebRefs} distinct references, not ${s.total} of each`);
    }
    if (ledgerDelivered !== s.total || ledgerOther !== 0) throw new Error(`end to end: the ledger holds ${ledgerDelivered} delivered and ${ledgerOther} in other states, not ${s.total} delivered: ${JSON.stringify(state)}`);
    const name = `rekey end to end (${THREADS} workers, SQLite ledger and audit, sql target COPY path)`;
    return { figure: { name, records: s.total, seconds, perSecond: s.total / seconds, cpuMicrosPerRecord, serverCpuMicrosPerRecord }, stage, checks };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
