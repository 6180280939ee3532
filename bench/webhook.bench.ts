/**
 * Webhook intake throughput: a load generator in its own process sends
 * distinct signed submissions over loopback to a pipeline served by `rekey
 * serve` (its own process: group commit into the SQLite ledger, the
 * pipeline woken to deliver into a SQLite target meanwhile), then the same
 * load to a bare Fastify route that checks the signature and stores
 * nothing, the practical limit of the HTTP side. Reports accepted
 * submissions per second and p50/p99 latency of each, and checks that the
 * ledger holds exactly the accepted submissions.
 */
import { FIELDS } from './data.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRuntime } from '../runner/runtime.js';
import { repoRoot, type Figure } from './mapping.bench.js';
import type { LoadOptions, LoadResult } from './webhook-load.js';

const SECRET = 'bench-webhook-signing-secret-0123456789';

/** A figure with the latency of its requests. */
export interface LatencyFigure extends Figure {
  p50Ms: number;
  p99Ms: number;
}

function writePipeline(dir: string, hold: boolean): void {
  mkdirSync(join(dir, 'pipelines'));
  writeFileSync(join(dir, 'legacy.sql'), `CREATE TABLE IF NOT EXISTS LEGACY (CASE_ID INTEGER PRIMARY KEY AUTOINCREMENT, SUBMISSION_KEY TEXT NOT NULL UNIQUE, ${FIELDS.map((f) => `${f} TEXT`).join(', ')});\n`);
  writeFileSync(
    join(dir, 'pipelines/bench-webhook.yaml'),
    [
      'pipeline: bench-webhook',
      `mapping: ${join(repoRoot(), 'bench/mapping-12.yaml')}`,
      'source: { kind: webhook, config: { secret: { env: BENCH_WEBHOOK_SECRET } } }',
      `target: { kind: sqlite, config: { path: ${join(dir, 'legacy.sqlite')}, table: LEGACY, keyColumn: SUBMISSION_KEY, setupSql: ${join(dir, 'legacy.sql')} } }`,
      'batch: { size: 2000 }',
      ...(hold ? ['window: { hours: [{ days: [mon, tue, wed, thu, fri, sat, sun], from: "03:00", to: "03:01" }] }'] : []),
      '',
    ].join('\n'),
  );
}

function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<string> {
  let text = '';
  return new Promise((resolve, reject) => {
    child[stream]!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = pattern.exec(text);
      if (m) resolve(m[1]!);
      if (text.length > 1_000_000) text = text.slice(-10_000);
    });
    child.on('exit', (code) => reject(new Error(`process exited with ${code} before it was ready: ${text.slice(-2000)}`)));
  });
}

function load(opts: LoadOptions): Promise<LoadResult> {
  const child = spawn(process.execPath, [join(repoRoot(), 'dist/bench/webhook-load.js'), JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult) : reject(new Error(`load generator exited with ${code}`)))),
  );
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const figure = (name: string, r: LoadResult): LatencyFigure => ({ name, records: r.byStatus['202'] ?? 0, seconds: r.seconds, perSecond: r.acceptedPerSecond, p50Ms: r.p50Ms, p99Ms: r.p99Ms });

/** One run against `rekey serve`: the load's result and the ledger's states afterwards. */
async function againstServe(hold: boolean, opts: Omit<LoadOptions, 'url' | 'secret' | 'offset'>): Promise<{ result: LoadResult; ledgerRows: number; states: unknown }> {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-bench-webhook-'));
  try {
    writePipeline(dir, hold);
    const serve = spawn(process.execPath, [join(repoRoot(), 'dist/runner/main.js'), 'serve', join(dir, 'pipelines'), '--port', '0', '--state', `sqlite:${join(dir, 'state.sqlite')}`], {
      cwd: dir,
      env: { ...process.env, BENCH_WEBHOOK_SECRET: SECRET, REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff', REKEY_LOG_LEVEL: 'info', NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const served = await waitFor(serve, 'stderr', /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"serving"/);
    const result = await load({ url: `${served}/intake/bench-webhook`, secret: SECRET, ...opts, offset: 0 });
    await stop(serve);
    const runtime = await openRuntime(`sqlite:${join(dir, 'state.sqlite')}`);
    const states = (await runtime.ledger.counts('bench-webhook'))['bench-webhook'];
    await runtime.close();
    return { result, ledgerRows: Object.values(states ?? {}).reduce((a, b) => a + b, 0), states };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the webhook benchmark: `requests` measured submissions (after
 * `warmup`) at `concurrency` in flight, against serve delivering as it
 * goes, serve with delivery held (a write window of one minute a day at
 * 03:00: the intake alone), and the bare route.
 */
export async function webhookBench(requests = 20_000, concurrency = 64, warmup = 1000): Promise<Record<string, unknown>> {
  const opts = { requests, concurrency, warmup };
  const delivering = await againstServe(false, opts);
  const held = await againstServe(true, opts);
  const bareProcess = spawn(process.execPath, [join(repoRoot(), 'dist/bench/webhook-bare.js'), SECRET], { stdio: ['ignore', 'pipe', 'inherit'] });
  const bareUrl = await waitFor(bareProcess, 'stdout', /^(http:\/\/\S+)\n/);
  const bare = await load({ url: `${bareUrl}/intake/bare`, secret: SECRET, ...opts, offset: 0 });
  await stop(bareProcess);
  const holdsAll = (r: { result: LoadResult; ledgerRows: number }) => r.ledgerRows === (r.result.byStatus['202'] ?? 0) + warmup;
  return {
    requests,
    concurrency,
    warmup,
    figures: [
      figure('rekey serve, delivering meanwhile', delivering.result),
      figure('rekey serve, delivery held (intake only)', held.result),
      figure('bare Fastify + HMAC, no ledger', bare),
    ],
    delivering: { ...delivering.result, ledgerStates: delivering.states, ledgerHoldsEveryAccepted: holdsAll(delivering) },
    held: { ...held.result, ledgerStates: held.states, ledgerHoldsEveryAccepted: holdsAll(held) },
    bare,
    ratioOfBare: { delivering: delivering.result.acceptedPerSecond / bare.acceptedPerSecond, held: held.result.acceptedPerSecond / bare.acceptedPerSecond },
  };
}
