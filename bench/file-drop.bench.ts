/**
 * The file-drop writer on REKEY_BENCH_RECORDS mapped records (default
 * 1,000,000): to a fixed-width file (latin1, header and trailer with a
 * control total) and to a CSV file (UTF-8, header, formula defusing on),
 * each through the format and the target's file writer as the target
 * drives them (the format's byte path when it has one, else its text;
 * temporary file, 1 MiB chunks, SHA-256, fsync, rename); against the raw write of
 * the same fixed-width lines, formatted beforehand, in 1 MiB chunks with
 * one fsync (the practical limit). Records come from a pool of 10,000
 * generated records, cycled, so that making them is not timed.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DropFile, publishDataFile } from '../connectors/file-drop/drop-file.js';
import { csvFormat } from '../connectors/file-drop/formats/csv.format.js';
import { fixedWidthFormat } from '../connectors/file-drop/formats/fixed-width.format.js';
import type { FileFacts, FileFormat, FileTotals, FormatRecord } from '../connectors/file-drop/formats/format.types.js';
import { addToTotals } from '../connectors/file-drop/formats/render.js';
import type { Figure } from './mapping.bench.js';

const MB = 1024 * 1024;
const POOL = 10_000;
const FIELDS: [string, number][] = [['REF', 8], ['SURNAME', 35], ['FORENAMES', 35], ['TITLE', 4], ['DOB', 10], ['LICENCE', 16], ['ADDR1', 30], ['TOWN', 30], ['POSTCODE', 8], ['MOVED', 10], ['WELSH', 1], ['RECEIVED', 12]];
const LAST = ["O'CONNOR", 'BRONTË-SMITH', 'GARCÍA LÓPEZ', 'AP GWILYM', 'NÍ BHRIAIN', 'PATEL', 'NOWAK', 'LEFÈVRE'];
const FIRST = ['SEÁN', 'ZOË', 'JOSÉ', 'DAFYDD', 'AOIFE', 'PRIYA', 'TOMASZ', 'CHLOÉ'];

function pool(): FormatRecord[] {
  return Array.from({ length: POOL }, (_, i) => ({
    record: {
      REF: `R${String(i).padStart(7, '0')}`,
      SURNAME: LAST[i % LAST.length],
      FORENAMES: `${FIRST[(i * 3) % FIRST.length]} ${FIRST[(i * 5) % FIRST.length]}`,
      TITLE: ['MR', 'MRS', 'MS', 'DR'][i % 4],
      DOB: `${String((i % 28) + 1).padStart(2, '0')}.0${(i % 9) + 1}.19${50 + (i % 50)}`,
      LICENCE: `MORGA${String(i % 1e6).padStart(6, '0')}SM9IJ`,
      ADDR1: `${i % 300} HIGH STREET`,
      TOWN: i % 2 ? 'CAERDYDD' : 'MANCHESTER',
      POSTCODE: i % 2 ? 'CF10 1AA' : 'M1 1AE',
      MOVED: '01.02.2024',
      WELSH: i % 2 ? 'Y' : 'N',
      RECEIVED: '202402011230',
      FEE: `${i % 100}.${String(i % 100).padStart(2, '0')}`,
    },
    children: {},
  }));
}

const fixedWidth = () =>
  fixedWidthFormat({
    kind: 'fixed-width',
    encoding: 'latin1',
    header: { fields: [{ name: 'T', length: 1, value: 'H' }, { name: 'DATE', length: 8, date: 'yyyyMMdd' }, { name: 'SEQ', length: 6, sequence: true }], length: 208 },
    detail: { fields: [{ name: 'T', length: 1, value: 'D' }, ...FIELDS.map(([name, length]) => ({ name, length })), { name: 'FEE', length: 8, type: 'numeric' as const, decimals: 2 }], length: 208 },
    trailer: { fields: [{ name: 'T', length: 1, value: 'T' }, { name: 'N', length: 9, count: 'records' as const }, { name: 'FEES', length: 14, sum: 'FEE', decimals: 2 }], length: 208 },
  });

async function timed(name: string, records: number, path: string, fn: () => Promise<void>): Promise<Figure & { mb: number; mbPerSecond: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const t0 = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const mb = statSync(path).size / MB;
  return { name, records, seconds, perSecond: records / seconds, mb, mbPerSecond: mb / seconds };
}

async function throughWriter(dir: string, name: string, format: FileFormat, records: FormatRecord[], n: number): Promise<void> {
  const facts: FileFacts = { name, sequence: 1, createdAt: new Date(), pipeline: 'bench' };
  const file = new DropFile(dir, name, format.encoding, format.totals.length === 0);
  await file.open(format.begin(facts));
  const totals: FileTotals = { records: 0, lines: 0, sums: {} };
  for (let i = 0; i < n; i++) {
    const r = records[i % POOL]!;
    const f = format.encode ? format.encode(r) : format.format(r);
    if (!f.ok) throw new Error(f.error.message);
    if ('bytes' in f) {
      const wait = file.appendBytes(f.bytes);
      if (wait) await wait;
    } else await file.append(f.text);
    addToTotals(totals, f);
  }
  const { head, tail } = format.end(facts, totals);
  await file.finish(tail, head);
  await publishDataFile(dir, name);
}

async function rawWrite(path: string, lines: string[], n: number): Promise<void> {
  const fh = await open(path, 'w');
  let parts: string[] = [];
  let length = 0;
  let offset = 0;
  const flush = async () => {
    const b = Buffer.from(parts.join(''), 'latin1');
    parts = [];
    length = 0;
    await fh.write(b, 0, b.length, offset);
    offset += b.length;
  };
  for (let i = 0; i < n; i++) {
    const l = lines[i % POOL]!;
    parts.push(l);
    length += l.length;
    if (length >= MB) await flush();
  }
  await flush();
  await fh.sync();
  await fh.close();
}

type Timed = Awaited<ReturnType<typeof timed>>;
const best = (runs: Timed[]): Timed => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));

/**
 * Runs the three writes in one process, `rounds` times interleaved (raw,
 * fixed-width, CSV, raw, ...), so that a load that comes and goes on the
 * machine touches each alike, and reports the best round of each against
 * the best raw write. REKEY_BENCH_ROUNDS sets the rounds (default 3).
 */
export async function fileDropBench(n: number, rounds = Number(process.env.REKEY_BENCH_ROUNDS ?? 3)): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-bench-drop-'));
  try {
    const records = pool();
    const fw = fixedWidth();
    const lines = records.map((r) => {
      const f = fw.format(r);
      if (!f.ok) throw new Error(f.error.message);
      return f.text;
    });
    const runs: [Timed[], Timed[], Timed[]] = [[], [], []];
    for (let round = 0; round < rounds; round++) {
      runs[0].push(await timed('raw write of pre-formatted fixed-width lines', n, join(dir, 'raw.dat'), () => rawWrite(join(dir, 'raw.dat'), lines, n)));
      runs[1].push(await timed('fixed-width through format and writer', n, join(dir, 'fixed.dat'), () => throughWriter(dir, 'fixed.dat', fixedWidth(), records, n)));
      runs[2].push(await timed('csv through format and writer', n, join(dir, 'out.csv'), () => throughWriter(dir, 'out.csv', csvFormat({ kind: 'csv' }, [...FIELDS.map(([f]) => f), 'FEE']), records, n)));
      for (const f of ['raw.dat', 'fixed.dat', 'out.csv']) rmSync(join(dir, f), { force: true });
    }
    const [raw, fixed, csv] = runs.map(best) as [Timed, Timed, Timed];
    const figures = [raw, fixed, csv];
    for (const f of figures) process.stdout.write(`${f.name}: ${Math.round(f.perSecond).toLocaleString('en-GB')} records/s, ${f.mbPerSecond.toFixed(1)} MB/s (${f.mb.toFixed(1)} MB in ${f.seconds.toFixed(2)} s)\n`);
    return {
      records: n,
      rounds,
      secondsPerRound: Object.fromEntries(runs.map((r) => [r[0]!.name, r.map((x) => Number(x.seconds.toFixed(2)))])),
      figures,
      ratios: { fixedWidthToRawRecords: fixed.perSecond / raw.perSecond, csvToRawRecords: csv.perSecond / raw.perSecond, fixedWidthToRawMB: fixed.mbPerSecond / raw.mbPerSecond, csvToRawMB: csv.mbPerSecond / raw.mbPerSecond },
      goal: 'each at least half the raw write (ratio >= 0.5)',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
