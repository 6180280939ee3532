/**
 * `npm run bench [name...]`: runs the benchmarks and prints their figures and
 * ratios as JSON and as a table. Names: the keys of BENCHES below; with
 * none, all but those in ON_DEMAND.
 */
import { mappingBench, type Figure } from './mapping.bench.js';
import { pipelineBench } from './pipeline.bench.js';
import { inboxBench } from './inbox.bench.js';
import { fileDropBench } from './file-drop.bench.js';
import { webhookBench } from './webhook.bench.js';
import { sqlTargetBench } from './sql-target.bench.js';
import { browserBench } from './browser.bench.js';
import { sqliteDriversBench } from './sqlite-drivers.bench.js';
import { consoleBench } from './console.bench.js';
import { routesBench } from './routes.bench.js';
import { clusterBench } from './cluster.bench.js';
import { rssBench } from './rss.bench.js';
import { nodeRedBench } from './node-red.bench.js';
import { auditSealBench } from './audit-seal.bench.js';

const BENCHES: Record<string, () => Promise<Record<string, unknown>>> = {
  mapping: () => mappingBench(Number(process.env.REKEY_BENCH_RECORDS ?? 1_000_000)),
  pipeline: () => pipelineBench(Number(process.env.REKEY_BENCH_RECORDS ?? 1_000_000)),
  inbox: () => inboxBench((process.env.REKEY_BENCH_INBOX_MB ?? '100,1024').split(',').map(Number)),
  'file-drop': () => fileDropBench(Number(process.env.REKEY_BENCH_RECORDS ?? 1_000_000)),
  webhook: () => webhookBench(Number(process.env.REKEY_BENCH_WEBHOOK_REQUESTS ?? 20_000), Number(process.env.REKEY_BENCH_WEBHOOK_CONCURRENCY ?? 64)),
  'sql-target': () => sqlTargetBench(Number(process.env.REKEY_BENCH_RECORDS ?? 200_000)),
  'sqlite-drivers': () => sqliteDriversBench(Number(process.env.REKEY_BENCH_RECORDS ?? 200_000)),
  console: () => consoleBench(Number(process.env.REKEY_BENCH_RECORDS ?? 1_000_000)),
  routes: () => routesBench(Number(process.env.REKEY_BENCH_RECORDS ?? 100_000)),
  'node-red': () => nodeRedBench(Number(process.env.REKEY_BENCH_RECORDS ?? 100_000)),
  cluster: () => clusterBench(Number(process.env.REKEY_BENCH_RECORDS ?? 20_000)),
  rss: () => rssBench((process.env.REKEY_BENCH_RSS_SIZES ?? '200000,1000000').split(',').map(Number), Number(process.env.REKEY_BENCH_RSS_WORKERS ?? 2)),
  'audit-seal': () => auditSealBench(Number(process.env.REKEY_BENCH_SEAL_ROUNDS ?? 200)),
  browser: () => browserBench(Number(process.env.REKEY_BENCH_FORMS ?? 40), (process.env.REKEY_BENCH_CONTEXTS ?? '1,2,4,8').split(',').map(Number)),
};

/** Run only when named: they install software of their own (the Node-RED peer benchmark). */
const ON_DEMAND = new Set(['node-red']);

const fmt = (n: number) => Math.round(n).toLocaleString('en-GB');

async function main(): Promise<void> {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(BENCHES).filter((n) => !ON_DEMAND.has(n));
  for (const name of names) {
    const bench = BENCHES[name];
    if (!bench) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);
    const result = await bench();
    if (typeof result.markdown === 'string') {
      process.stdout.write(`\n## ${name}\n\n${result.markdown}\n\n${JSON.stringify({ ...result, markdown: undefined }, null, 2)}\n`);
      continue;
    }
    const figures = result.figures as Figure[];
    const extra = (['cpuMicrosPerRecord', 'serverCpuMicrosPerRecord'] as const).filter((k) => figures.some((f) => f[k] !== undefined));
    const heads = { cpuMicrosPerRecord: 'CPU µs/record', serverCpuMicrosPerRecord: 'server CPU µs/record' };
    process.stdout.write(`\n## ${name}\n\n| run | records | seconds | records/s |${extra.map((k) => ` ${heads[k]} |`).join('')}\n|---|---:|---:|---:|${extra.map(() => '---:|').join('')}\n`);
    for (const f of figures) {
      const cells = extra.map((k) => ` ${f[k] === undefined ? '' : f[k].toFixed(1)} |`).join('');
      process.stdout.write(`| ${f.name} | ${fmt(f.records)} | ${f.seconds.toFixed(2)} | ${fmt(f.perSecond)} |${cells}\n`);
    }
    process.stdout.write(`\n${JSON.stringify(result, null, 2)}\n`);
  }
}

await main();
