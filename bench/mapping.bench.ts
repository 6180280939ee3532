/**
 * Mapping throughput: the compiled 12-field mapping against the same mapping
 * written by hand and in JSONata, measured in one run on one thread.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jsonata from 'jsonata';
import { loadMappingFile } from '../runner/mapping-files.js';
import { canonicalJson } from '../lib/canonical-json.js';
import { makeSubmissions } from './data.js';
import { mapByHand } from './hand-written.js';
import { JSONATA_12 } from './jsonata-12.js';

/** One benchmark figure. */
export interface Figure {
  name: string;
  records: number;
  seconds: number;
  perSecond: number;
  /** CPU time of the whole process (every thread: main, workers, libuv's, V8's) per record over the timed part, in µs; where measured (see `cpu.ts`). */
  cpuMicrosPerRecord?: number;
  /** CPU time of the database server's processes per record over the timed part, in µs; where measured (see `cpu.ts`). */
  serverCpuMicrosPerRecord?: number;
}

function time(name: string, records: number, fn: () => void): Figure {
  const t0 = process.hrtime.bigint();
  fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name, records, seconds, perSecond: records / seconds };
}

/** The repository root, whether this runs from bench/ (tsx) or dist/bench/ (built). */
export function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return /[\\/]dist[\\/]bench$/.test(here) ? join(here, '../..') : join(here, '..');
}

const best = (a: Figure, b: Figure) => (a.perSecond >= b.perSecond ? a : b);

/** Runs the mapping benchmark; `total` submissions for the compiled and hand-written runs. */
export async function mappingBench(total = 1_000_000, rounds = 3, jsonataRecords = 20_000): Promise<Record<string, unknown>> {
  const file = join(repoRoot(), 'bench/mapping-12.yaml');
  const loaded = await loadMappingFile(file);
  if (!loaded.compiled) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  const m = loaded.compiled;
  const distinct = makeSubmissions(10_000);
  let mismatches = 0;
  for (const s of distinct) {
    const a = m.map(s);
    const b = mapByHand(s as never);
    const sameErrors = canonicalJson(a.errors.map((e) => [e.field, e.rule])) === canonicalJson(b.errors.map((e) => [e.field, e.rule]));
    if (canonicalJson(a.record) !== canonicalJson(b.record) || !sameErrors) mismatches++;
  }
  let sink = 0;
  const run = (f: (s: object) => { errors: unknown[] }) => () => {
    for (let i = 0; i < total; i++) sink += f(distinct[i % distinct.length]!).errors.length;
  };
  run((s) => m.map(s))();
  run((s) => mapByHand(s as never))();
  let compiled: Figure | undefined;
  let hand: Figure | undefined;
  for (let r = 0; r < rounds; r++) {
    const c = time('compiled mapping', total, run((s) => m.map(s)));
    const h = time('hand-written TypeScript', total, run((s) => mapByHand(s as never)));
    compiled = compiled ? best(compiled, c) : c;
    hand = hand ? best(hand, h) : h;
  }
  const expr = jsonata(JSONATA_12);
  const jt0 = process.hrtime.bigint();
  for (let i = 0; i < jsonataRecords; i++) sink += Object.keys((await expr.evaluate(distinct[i % distinct.length])) as object).length;
  const js = Number(process.hrtime.bigint() - jt0) / 1e9;
  const jsonataFig: Figure = { name: 'JSONata', records: jsonataRecords, seconds: js, perSecond: jsonataRecords / js };
  return {
    benchmark: 'mapping',
    figures: [compiled!, hand!, jsonataFig],
    ratios: {
      compiledVsHandWritten: compiled!.perSecond / hand!.perSecond,
      compiledVsJsonata: compiled!.perSecond / jsonataFig.perSecond,
    },
    goals: { compiledVsHandWritten: '>= 0.5', compiledVsJsonata: '>= 20' },
    checks: { distinctSubmissions: distinct.length, recordsThatDifferFromHandWritten: mismatches, sink },
  };
}
