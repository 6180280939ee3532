/**
 * The file inbox on a big CSV: a file of REKEY_BENCH_INBOX_MB megabytes
 * (default `100,1024`: one file of each size) is generated into a temporary
 * folder, streamed out and never held, then read twice, each time in a child
 * process of its own so that resident memory is measured cleanly: by
 * csv-parse alone (the practical limit of the parser the inbox uses) and by
 * the inbox source's read loop (claim, decode, split, parse, locate, seal
 * into done, with a SQLite state store holding the file's key). Reports records/s, MB/s, the resident set at start and its peak,
 * sampled every 20 ms. The inbox's goal is a peak that does not grow with
 * the file.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'csv-parse';
import pino from 'pino';
import { InboxSource } from '../connectors/file-inbox/inbox.source.js';
import { KeyRing } from '../lib/envelope.js';
import { sealedFiles } from '../pipelines/privacy/sealed-files.js';
import { openStateStore } from '../pipelines/store/state-store.js';
import type { Figure } from './mapping.bench.js';

const MB = 1024 * 1024;
const HEADER = 'form_name,submission_reference,title,first_name,last_name,date_of_birth,licence_number,address,postcode,moved_on,submitted_at\n';
const FIRST = ['Seán', 'Zoë', 'José', 'Dafydd', 'Aoife', 'Priya', 'Tomasz', 'Chloé'];
const LAST = ["O'Connor", 'Brontë-Smith', 'García López', 'ap Gwilym', 'Ní Bhriain', 'Patel', 'Wiśniewski', 'Lefèvre'];

function row(i: number): string {
  const f = FIRST[i % FIRST.length]!;
  const l = LAST[(i * 7) % LAST.length]!;
  const address = i % 97 === 0 ? `"Flat ${i % 40}\nGrove Street, Leeds"` : `"${i % 300} Station Road, Flat ${i % 9}"`;
  const d = String(1 + (i % 28)).padStart(2, '0');
  return `Change the address on your driving licence,R${i.toString(36).toUpperCase().padStart(8, '0')},Mx,${f},"${l}",${d}/06/1983,OCONN8061${String(i % 1000).padStart(3, '0')}SP9TK,${address},M1 1AE,${d}/03/2024,2024-03-${d}T10:22:31Z\n`;
}

/** Writes a CSV of at least `bytes` bytes to `path`, a block at a time; resolves to the rows written. */
async function writeCsv(path: string, bytes: number): Promise<number> {
  const out = createWriteStream(path);
  out.write(HEADER);
  let written = HEADER.length;
  let rows = 0;
  while (written < bytes) {
    let block = '';
    for (let k = 0; k < 2000; k++) block += row(rows++);
    written += Buffer.byteLength(block);
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return rows;
}

/** What one measuring child reports. */
interface Measured {
  records: number;
  unreadable: number;
  seconds: number;
  rssStartMb: number;
  rssPeakMb: number;
}

async function measure(mode: string, path: string): Promise<Measured> {
  const store = mode === 'inbox' ? await openStateStore(`sqlite:${join(dirname(path), 'state.sqlite')}`) : undefined;
  const rssStart = process.memoryUsage().rss;
  let peak = rssStart;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = process.hrtime.bigint();
  let records = 0;
  let unreadable = 0;
  if (mode === 'csv-parse') {
    for await (const _ of createReadStream(path).pipe(parse({ columns: true }))) records++;
  } else {
    const files = sealedFiles(store!, new KeyRing(randomBytes(32)), 'bench');
    const ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1, files };
    const src = new InboxSource({ path, settle: '0s' }, { baseDir: path, pipeline: 'bench' });
    for await (const item of src.read(ctx)) {
      if (item.ok) records++;
      else unreadable++;
    }
    await src.commit(ctx);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  await store?.close();
  return { records, unreadable, seconds, rssStartMb: rssStart / MB, rssPeakMb: peak / MB };
}

function child(mode: string, path: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), 'measure', mode, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Measured) : reject(new Error(`${mode} measurement exited ${code}`))));
  });
}

/** Runs the benchmark for each size in megabytes; see the module comment. */
export async function inboxBench(sizesMb: number[]): Promise<Record<string, unknown>> {
  const figures: (Figure & Record<string, unknown>)[] = [];
  for (const size of sizesMb) {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-bench-inbox-'));
    try {
      const inbox = join(dir, 'inbox');
      mkdirSync(inbox);
      const file = join(inbox, 'big.csv');
      const rows = await writeCsv(file, size * MB);
      const bytes = statSync(file).size;
      for (const mode of ['csv-parse', 'inbox']) {
        const m = await child(mode, mode === 'inbox' ? inbox : file);
        if (m.records !== rows || m.unreadable !== 0) throw new Error(`${mode} read ${m.records} records (${m.unreadable} unreadable) of ${rows}`);
        figures.push({
          name: `${mode}, ${size} MB`,
          records: m.records,
          seconds: m.seconds,
          perSecond: m.records / m.seconds,
          mbPerSecond: Math.round((bytes / MB / m.seconds) * 10) / 10,
          rssStartMb: Math.round(m.rssStartMb),
          rssPeakMb: Math.round(m.rssPeakMb),
          fileBytes: bytes,
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const ratios: Record<string, number> = {};
  for (const size of sizesMb) {
    const raw = figures.find((f) => f.name === `csv-parse, ${size} MB`)!;
    const inbox = figures.find((f) => f.name === `inbox, ${size} MB`)!;
    ratios[`inbox / csv-parse records/s, ${size} MB`] = Math.round((inbox.perSecond / raw.perSecond) * 100) / 100;
  }
  return { figures, ratios };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'measure') {
  process.stdout.write(JSON.stringify(await measure(process.argv[3]!, process.argv[4]!)));
}
