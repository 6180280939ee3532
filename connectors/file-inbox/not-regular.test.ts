/**
 * Issue 23, point 5: the inbox followed a symbolic link and delivered a
 * file from outside it. Entries that are not regular files (links, FIFOs,
 * folders) are refused unopened, with a reason, and the rest of the inbox
 * is read; a file swapped between the look and the open is caught.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ctx, SourceItem } from '../connector.types.js';
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
import type { QuarantineReport } from './inbox.report.js';
import { openRegular } from './safe-open.js';
import { look } from './inbox.folders.js';

const CANARY = 'Zqx7OutsideCanary';
const mapping = loadMapping('links.yaml', 'mapping: links\nfields:\n  REF: { from: submission_reference }\n  NAME: { from: name }\n').compiled!;
const line = (ref: string, name = `Name ${ref}`) => `${JSON.stringify({ form_name: 'F', submission_reference: ref, name })}\n`;

let dir: string;
let inbox: string;
let outside: string;
let store: StateStore;
let ledger: Ledger;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rekey-links-'));
  inbox = join(dir, 'inbox');
  await mkdir(inbox, { recursive: true });
  outside = join(dir, 'secret', 'other-service.ndjson');
  await mkdir(join(dir, 'secret'));
  await writeFile(outside, line('OUT1', CANARY));
  store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
  ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function drop(name: string, content: string): Promise<string> {
  const path = join(inbox, name);
  await writeFile(path, content);
  const t = new Date(Date.now() - 60_000);
  await utimes(path, t, t);
  return path;
}

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr.toString()}`);
}

const source = () => new InboxSource({ path: 'inbox', settle: '0s', pattern: '*.{ndjson,json}' }, { baseDir: dir, pipeline: 'links' });
const ls = (sub: string) => (existsSync(join(inbox, sub)) ? readdirSync(join(inbox, sub)).sort() : []);
const report = (name: string) => JSON.parse(readFileSync(join(inbox, 'quarantine', name), 'utf8')) as QuarantineReport;

async function everythingStored(): Promise<string> {
  const rows = await ledger.list('links', { limit: 1000 });
  const bodies = await Promise.all(rows.map((r) => ledger.get('links', r.key)));
  return JSON.stringify(bodies);
}

describe('the inbox refuses what is not a regular file', () => {
  it('a symbolic link to a file outside the inbox is never read: quarantined as a link, with the reason; the rest is delivered', async () => {
    await symlink(outside, join(inbox, 'a-link.ndjson'));
    await drop('b-good.ndjson', line('G1'));
    const target = new TestTarget();
    const logs: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => logs.push(s) });
    const r = await runPass(testPipeline(source(), target, { name: 'links', mapping }), ledger, testOptions({ log }));
    expect(r).toMatchObject({ read: 1, receivedNew: 1, unreadable: 1, delivered: 1 });
    expect([...target.rows.keys()]).toEqual(['F/G1']);
    expect(JSON.stringify([...target.rows.values()])).not.toContain(CANARY);
    expect(await everythingStored()).not.toContain(CANARY);
    expect(ls('quarantine')).toEqual(['a-link.ndjson', 'a-link.ndjson.error.json']);
    expect(lstatSync(join(inbox, 'quarantine', 'a-link.ndjson')).isSymbolicLink()).toBe(true);
    const message = `${join(inbox, 'a-link.ndjson')} is a symbolic link, not a regular file; it was not opened`;
    expect(report('a-link.ndjson.error.json')).toMatchObject({
      outcome: 'quarantined',
      file: 'a-link.ndjson',
      movedTo: 'inbox/quarantine/a-link.ndjson',
      recordsRead: 0,
      reason: { code: 'SOURCE_NOT_REGULAR_FILE', message },
      note: 'nothing from this file was recorded',
    });
    expect(ls('done')).toEqual(['b-good.ndjson.sealed']);
    expect(readFileSync(outside, 'utf8')).toBe(line('OUT1', CANARY));
    const warned = logs.map((l) => JSON.parse(l) as { msg: string; code?: string }).filter((l) => l.code === 'SOURCE_NOT_REGULAR_FILE');
    expect(warned.map((l) => l.msg)).toEqual([`unreadable record: ${message}`, `quarantined, unopened, an inbox entry that is not a regular file: ${message}`]);
    expect(logs.join('')).not.toContain(CANARY);
    for (const name of readdirSync(join(inbox, 'done'))) expect(readFileSync(join(inbox, 'done', name), 'latin1')).not.toContain(CANARY);

    const again = await runPass(testPipeline(source(), target, { name: 'links', mapping }), ledger, testOptions());
    expect(again).toMatchObject({ read: 0, unreadable: 0 });
    expect(readdirSync(join(inbox, '.processing', `${hostname()}~${process.pid}`))).toEqual([]);
  });

  it('a FIFO and a folder matching the pattern are refused without hanging; the files around them are delivered', async () => {
    await drop('a-good.ndjson', line('G1'));
    mkfifo(join(inbox, 'b-pipe.ndjson'));
    await mkdir(join(inbox, 'c-folder.json'));
    await writeFile(join(inbox, 'c-folder.json', 'inner.ndjson'), line('IN1', CANARY));
    await drop('d-good.json', `[${line('G2')}]`);
    const target = new TestTarget();
    const r = await runPass(testPipeline(source(), target, { name: 'links', mapping }), ledger, testOptions());
    expect(r).toMatchObject({ read: 2, receivedNew: 2, unreadable: 2, delivered: 2 });
    expect([...target.rows.keys()].sort()).toEqual(['F/G1', 'F/G2']);
    expect(ls('')).toEqual(['.processing', 'done', 'quarantine']);
    expect(ls('quarantine')).toEqual(['b-pipe.ndjson', 'b-pipe.ndjson.error.json', 'c-folder.json', 'c-folder.json.error.json']);
    expect(statSync(join(inbox, 'quarantine', 'b-pipe.ndjson')).isFIFO()).toBe(true);
    expect(report('b-pipe.ndjson.error.json').reason).toEqual({ code: 'SOURCE_NOT_REGULAR_FILE', message: `${join(inbox, 'b-pipe.ndjson')} is a FIFO (named pipe), not a regular file; it was not opened` });
    expect(report('c-folder.json.error.json').reason).toEqual({ code: 'SOURCE_NOT_REGULAR_FILE', message: `${join(inbox, 'c-folder.json')} is a folder, not a regular file; it was not opened` });
    expect(ls('done')).toEqual(['a-good.ndjson.sealed', 'd-good.json.sealed']);
    expect(await everythingStored()).not.toContain(CANARY);
  }, 20_000);

  it('a file claimed while it was a regular file and found a link at the open (a left-over claim) is refused unopened', async () => {
    const claim = join(inbox, '.processing', `${hostname()}~${process.pid}`);
    await mkdir(claim, { recursive: true });
    await symlink(outside, join(claim, 'swapped.ndjson'));
    const target = new TestTarget();
    const r = await runPass(testPipeline(source(), target, { name: 'links', mapping }), ledger, testOptions());
    expect(r).toMatchObject({ read: 0, unreadable: 1 });
    expect(ls('quarantine')).toEqual(['swapped.ndjson', 'swapped.ndjson.error.json']);
    expect(await everythingStored()).not.toContain(CANARY);
  });
});

describe('a file swapped for a link after it was read is never sealed through the link', () => {
  it('the seal fails (ELOOP), the entry stays claimed, and the next pass quarantines it unopened', async () => {
    await drop('a.ndjson', line('A1'));
    const src = source();
    const logs: string[] = [];
    const ctx: Ctx = { log: pino({ level: 'info' }, { write: (s: string) => logs.push(s) }), signal: new AbortController().signal, attempt: 1, files: ledger.sealedFiles('links') };
    const items: SourceItem[] = [];
    for await (const item of src.read(ctx)) items.push(item);
    expect(items.map((i) => i.ok)).toEqual([true]);
    const claimed = join(inbox, '.processing', `${hostname()}~${process.pid}`, 'a.ndjson');
    await rm(claimed);
    await symlink(outside, claimed);
    await src.commit(ctx);
    expect(logs.map((l) => JSON.parse(l) as { msg: string; err?: { code?: string } }).filter((l) => l.err).map((l) => [l.msg, l.err?.code])).toEqual([
      ['could not seal a read file out of processing; the next pass reads it again', 'ELOOP'],
    ]);
    expect(ls('done')).toEqual([]);
    const r = await runPass(testPipeline(source(), new TestTarget(), { name: 'links', mapping }), ledger, testOptions());
    expect(r).toMatchObject({ read: 0, unreadable: 1 });
    expect(ls('quarantine')).toEqual(['a.ndjson', 'a.ndjson.error.json']);
    expect(ls('done')).toEqual([]);
    expect(readFileSync(outside, 'utf8')).toBe(line('OUT1', CANARY));
  });
});

describe('openRegular: a swap between the look and the open is caught', () => {
  it('refuses a file replaced after it was looked at (another inode), a link, and a FIFO, before reading a byte', async () => {
    const path = await drop('x.ndjson', line('X1'));
    const first = (await look(path))!;
    await writeFile(join(inbox, 'y.ndjson'), line('Y1', CANARY));
    await rename(join(inbox, 'y.ndjson'), path);
    await expect(openRegular(path, 'inbox/x.ndjson', first)).rejects.toMatchObject({
      code: 'SOURCE_NOT_REGULAR_FILE',
      disposition: 'reject',
      message: 'inbox/x.ndjson is a file replaced between the look at it and its opening, not a regular file; it was not opened',
    });
    const same = await openRegular(path, 'inbox/x.ndjson', (await look(path))!);
    expect((await same.readFile()).toString()).toBe(line('Y1', CANARY));
    await same.close();
    await rm(path);
    await symlink(outside, path);
    expect(await look(path)).toBeUndefined();
    await expect(openRegular(path, 'inbox/x.ndjson')).rejects.toMatchObject({ code: 'SOURCE_NOT_REGULAR_FILE', message: 'inbox/x.ndjson is a symbolic link, not a regular file; it was not opened' });
    await rm(path);
    mkfifo(path);
    await expect(openRegular(path, 'inbox/x.ndjson')).rejects.toMatchObject({ code: 'SOURCE_NOT_REGULAR_FILE', message: 'inbox/x.ndjson is a FIFO (named pipe), not a regular file; it was not opened' });
  }, 20_000);
});

describe('the file source refuses what is not a regular file in its folder', () => {
  const ctx = (): Ctx => ({ log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1 });

  it('yields one SOURCE_NOT_REGULAR_FILE item per link or FIFO, reads the rest, and leaves subfolders out', async () => {
    await symlink(outside, join(inbox, 'a-link.ndjson'));
    mkfifo(join(inbox, 'b-pipe.ndjson'));
    await mkdir(join(inbox, 'c-folder.ndjson'));
    await drop('d-good.ndjson', line('G1'));
    const src = new FileSource({ path: 'inbox' }, { baseDir: dir, pipeline: 'links' });
    const items: SourceItem[] = [];
    for await (const item of src.read(ctx())) items.push(item);
    expect(items.map((i) => (i.ok ? (i.body as { submission_reference: string }).submission_reference : `${i.error.code} ${i.error.disposition}: ${i.error.message}`))).toEqual([
      `SOURCE_NOT_REGULAR_FILE reject: ${join(inbox, 'a-link.ndjson')} is a symbolic link, not a regular file; it was not opened`,
      `SOURCE_NOT_REGULAR_FILE reject: ${join(inbox, 'b-pipe.ndjson')} is a FIFO (named pipe), not a regular file; it was not opened`,
      'G1',
    ]);
    expect(JSON.stringify(items)).not.toContain(CANARY);
  }, 20_000);

  it('in byte chunks for the workers too: the link is one unreadable record, never read', async () => {
    await symlink(outside, join(inbox, 'a-link.ndjson'));
    await drop('b-good.ndjson', line('G1'));
    const src = new FileSource({ path: 'inbox', pattern: '*.ndjson' }, { baseDir: dir, pipeline: 'links' });
    const target = new TestTarget();
    const opts = testOptions({ mapChunk: async (chunk, seal) => mapChunk(mapping, await chunkParser(chunk.parser), { ...chunk, piiKey: Buffer.alloc(32, 1), seal }), chunksInFlight: 1 });
    const r = await runPass(testPipeline(src, target, { name: 'links', mapping }), ledger, opts);
    expect(r).toMatchObject({ read: 1, receivedNew: 1, unreadable: 1, delivered: 1 });
    expect(await everythingStored()).not.toContain(CANARY);
  });
});
