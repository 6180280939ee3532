/**
 * Issue 23, point 2: one record nested 10,000 levels deep, in each JSON-ish
 * format, read by the inbox and by the `file` source's worker-chunk path,
 * is one unreadable record with its code, file, record and limit; the
 * records around it are delivered, and the next pass is not stuck.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMapping } from '../../mappings/index.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { chunkParser, mapChunk } from '../../pipelines/flow/chunk-map.js';
import { testOptions, testPipeline, TestTarget } from '../../pipelines/flow/flow.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { InboxSource } from './inbox.source.js';
import { FileSource } from './file.source.js';
import type { InboxSourceConfig } from './inbox.config.js';
import type { ErrorsReport } from './inbox.report.js';
import { parseNdjsonChunk } from './readers/ndjson.chunk-parser.js';
import { NDJSON_CHUNK_PARSER } from './readers/ndjson.chunk-parser.js';

const DEPTH = 10_000;
const CANARY = 'Zqx7DeepCanary';
const mapping = loadMapping('deep.yaml', 'mapping: deep\nfields:\n  REF: { from: submission_reference }\n').compiled!;

/** A submission whose `answers` nest `depth` arrays and objects below it, built as text (JSON.stringify cannot write it). */
function deepText(ref: string, depth = DEPTH): string {
  const pairs = depth >> 1;
  const inner = `${'[{"a":'.repeat(pairs)}"${CANARY}"${'}]'.repeat(pairs)}`;
  return `{"form_name":"F","submission_reference":"${ref}","answers":${depth % 2 ? `[${inner}]` : inner}}`;
}
const good = (ref: string) => JSON.stringify({ form_name: 'F', submission_reference: ref, name: `Name ${ref}` });

let dir: string;
let inbox: string;
let store: StateStore;
let ledger: Ledger;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rekey-deep-'));
  inbox = join(dir, 'inbox');
  store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
  ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function drop(name: string, content: string): Promise<void> {
  await mkdir(inbox, { recursive: true });
  const path = join(inbox, name);
  await writeFile(path, content);
  const t = new Date(Date.now() - 60_000);
  await utimes(path, t, t);
}

const inboxSource = (config: Partial<InboxSourceConfig> = {}) => new InboxSource({ path: 'inbox', settle: '0s', ...config }, { baseDir: dir, pipeline: 'deep' });
const keys = async () => (await ledger.list('deep', { limit: 1000 })).map((r) => r.key).sort();
const ls = (sub: string) => (existsSync(join(inbox, sub)) ? readdirSync(join(inbox, sub)).sort() : []);
const errorsOf = (name: string) => (JSON.parse(readFileSync(join(inbox, 'done', `${name}.errors.json`), 'utf8')) as ErrorsReport).errors;

/** Every file under `dir` except the state store's own, as text: what rekey wrote, to search for the canary. */
function written(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!p.includes(join(dir, 'inbox', '.processing')) && !e.name.endsWith('.sealed')) out.push(readFileSync(p, 'latin1'));
    }
  };
  walk(dir);
  return out.join('\n');
}

const tooDeep = (limit = 64) => `arrays and objects nest deeper than ${limit} levels (json.maxDepth); the record was skipped`;

describe('a record nested 10,000 levels deep in the inbox', () => {
  it('NDJSON and JSON: one INPUT_TOO_DEEP record each, the records around it delivered, the files done', async () => {
    await drop('a.ndjson', `${good('N1')}\n${deepText('N2')}\n${good('N3')}\n`);
    await drop('b.json', `[${good('J1')},\n${deepText('J2')},\n${good('J3')}]`);
    const target = new TestTarget();
    const logs: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => logs.push(s) });
    const r = await runPass(testPipeline(inboxSource(), target, { name: 'deep', mapping }), ledger, testOptions({ log }));
    expect(r).toMatchObject({ read: 4, receivedNew: 4, unreadable: 2, delivered: 4 });
    expect(await keys()).toEqual(['F/J1', 'F/J3', 'F/N1', 'F/N3']);
    expect([...target.rows.keys()].sort()).toEqual(['F/J1', 'F/J3', 'F/N1', 'F/N3']);
    expect(ls('done')).toEqual(['a.ndjson.errors.json', 'a.ndjson.sealed', 'b.json.errors.json', 'b.json.sealed']);
    expect(errorsOf('a.ndjson')).toEqual([{ record: 2, line: 2, code: 'INPUT_TOO_DEEP', message: tooDeep() }]);
    expect(errorsOf('b.json')).toEqual([{ record: 2, line: 2, code: 'INPUT_TOO_DEEP', message: tooDeep() }]);
    const warned = logs.map((l) => JSON.parse(l) as { msg: string; at?: string; code?: string }).filter((l) => l.code === 'INPUT_TOO_DEEP');
    expect(warned.map((l) => [l.at, l.msg])).toEqual([
      [`${join(inbox, 'a.ndjson')}:2`, `unreadable record: ${tooDeep()}`],
      [`${join(inbox, 'b.json')}:2`, `unreadable record: ${tooDeep()}`],
    ]);
    expect(logs.join('')).not.toContain('Maximum call stack');
    expect(`${logs.join('')}${written()}`).not.toContain(CANARY);

    expect(readdirSync(join(inbox, '.processing', `${hostname()}~${process.pid}`))).toEqual([]);
    await drop('c.ndjson', `${good('N4')}\n`);
    const second = await runPass(testPipeline(inboxSource(), target, { name: 'deep', mapping }), ledger, testOptions());
    expect(second).toMatchObject({ read: 1, receivedNew: 1, unreadable: 0, delivered: 1 });
    expect(ls('done')).toContain('c.ndjson.sealed');
  });

  it('honours json.maxDepth: a record at the limit is read and delivered, one level more is not', async () => {
    await drop('d.ndjson', `${deepText('D1', 100)}\n${deepText('D2', 101)}\n`);
    const target = new TestTarget();
    const r = await runPass(testPipeline(inboxSource({ json: { maxDepth: 101 } }), target, { name: 'deep', mapping }), ledger, testOptions());
    expect(r).toMatchObject({ read: 1, unreadable: 1, delivered: 1 });
    expect(await keys()).toEqual(['F/D1']);
    expect(errorsOf('d.ndjson')).toEqual([{ record: 2, line: 2, code: 'INPUT_TOO_DEEP', message: tooDeep(101) }]);
  });

  it('a record 1000 levels deep, the highest limit there is, goes through the whole flow', async () => {
    await drop('e.json', `[${deepText('E1', 999)}]`);
    const target = new TestTarget();
    const r = await runPass(testPipeline(inboxSource({ json: { maxDepth: 1000 } }), target, { name: 'deep', mapping }), ledger, testOptions());
    expect(r).toMatchObject({ read: 1, unreadable: 0, delivered: 1 });
    expect((await ledger.get('deep', 'F/E1'))?.body).toEqual(JSON.parse(deepText('E1', 999)));
  });
});

describe('a record nested 10,000 levels deep read by the file source in byte chunks (the worker path)', () => {
  it('is one INPUT_TOO_DEEP record; the rest of the file is delivered; the next pass reads again', async () => {
    await mkdir(join(dir, 'in'), { recursive: true });
    await writeFile(join(dir, 'in', 'x.ndjson'), `${good('C1')}\n${deepText('C2')}\n${good('C3')}\n`);
    const source = new FileSource({ path: 'in', pattern: '*.ndjson', json: { maxDepth: 32 } }, { baseDir: dir, pipeline: 'deep' });
    expect(source.chunks).toBeDefined();
    const opts = testOptions({ mapChunk: async (chunk, seal) => mapChunk(mapping, await chunkParser(chunk.parser), { ...chunk, piiKey: Buffer.alloc(32, 1), seal }), chunksInFlight: 1 });
    const target = new TestTarget();
    const r = await runPass(testPipeline(source, target, { name: 'deep', mapping }), ledger, opts);
    expect(r).toMatchObject({ read: 2, receivedNew: 2, unreadable: 1, delivered: 2 });
    expect([...target.rows.keys()].sort()).toEqual(['F/C1', 'F/C3']);
    await writeFile(join(dir, 'in', 'y.ndjson'), `${good('C4')}\n`);
    const again = await runPass(testPipeline(source, target, { name: 'deep', mapping }), ledger, opts);
    expect(again).toMatchObject({ read: 3, receivedNew: 1, duplicates: 2, unreadable: 1 });
    expect(await keys()).toEqual(['F/C1', 'F/C3', 'F/C4']);
  });

  it('the chunk parser reports the line with the limit the chunk carries, never parsing it', () => {
    const bytes = new TextEncoder().encode(`${good('P1')}\n${deepText('P2')}\n${good('P3')}\n`);
    const parsed = parseNdjsonChunk({ file: 'x.ndjson', firstLine: 7, bytes, parser: NDJSON_CHUNK_PARSER, maxDepth: 32 });
    expect(parsed.lines).toEqual([7, 9]);
    expect(parsed.errors).toEqual([{ line: 8, code: 'INPUT_TOO_DEEP', message: tooDeep(32) }]);
  });
});
