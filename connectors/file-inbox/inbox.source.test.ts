import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { appendFile, copyFile, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ctx, SourceItem } from '../connector.types.js';
import { loadMapping } from '../../mappings/index.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { testOptions, testPipeline, TestTarget } from '../../pipelines/flow/flow.test-helpers.js';
import { InboxSource, inboxSource, type InboxOptions } from './inbox.source.js';
import type { InboxSourceConfig } from './inbox.config.js';
import type { ErrorsReport, QuarantineReport } from './inbox.report.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { SEALED_FILE_MAGIC } from '../../lib/envelope.js';

const fixtures = fileURLToPath(new URL('../../fixtures/submissions/govuk-forms/', import.meta.url));
const ctx = (signal = new AbortController().signal): Ctx => ({ log: pino({ level: 'silent' }), signal, attempt: 1, files: ledger.sealedFiles('inbox-test') });
const mapping = loadMapping('inbox-test.yaml', 'mapping: inbox-test\nfields:\n  REF: { from: submission_reference }\n').compiled!;

let dir: string;
let inbox: string;
let store: StateStore;
let ledger: Ledger;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rekey-inbox-'));
  inbox = join(dir, 'inbox');
  store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
  ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const source = (config: Partial<InboxSourceConfig> = {}, opts: InboxOptions = {}) => new InboxSource({ path: 'inbox', settle: '0s', ...config }, { baseDir: dir, pipeline: 'inbox-test' }, opts);

async function drop(name: string, content: string | Buffer, ageMs = 60_000): Promise<string> {
  await mkdir(inbox, { recursive: true });
  const path = join(inbox, name);
  await writeFile(path, content);
  const t = new Date(Date.now() - ageMs);
  await utimes(path, t, t);
  return path;
}

async function pass(src: InboxSource, signal?: AbortSignal) {
  return runPass(testPipeline(src, new TestTarget(), { name: 'inbox-test', mapping }), ledger, testOptions(signal ? { signal } : {}));
}

async function keys(): Promise<string[]> {
  return (await ledger.list('inbox-test', { limit: 100_000 })).map((r) => r.key).sort();
}

async function bodies(): Promise<unknown[]> {
  const out = [];
  for (const k of await keys()) out.push((await ledger.get('inbox-test', k))?.body);
  return out;
}

const ls = (sub: string) => (existsSync(join(inbox, sub)) ? readdirSync(join(inbox, sub)).sort() : []);
const report = <T>(sub: string, name: string) => JSON.parse(readFileSync(join(inbox, sub, name), 'utf8')) as T;
const claimFolder = () => join(inbox, '.processing', `${hostname()}~${process.pid}`);

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const i of items) out.push(i);
  return out;
}

function ndjson(refs: string[]): string {
  return refs.map((r) => JSON.stringify({ form_name: 'F', submission_reference: r, name: `Name ${r}` })).join('\n') + '\n';
}

describe('inbox: files move through the folders', () => {
  it('reads the fixtures in every format into the ledger, moves them to done, and never overwrites a name in done', async () => {
    await mkdir(inbox, { recursive: true });
    for (const f of ['change-of-address.ndjson', 'provisional-licence.json', 'vehicle-keeper-change.xml']) await copyFile(join(fixtures, f), join(inbox, f));
    const src = source({ xml: { recordPath: 'submissions.submission' } });
    const first = await pass(src);
    expect(first).toMatchObject({ unreadable: 0, conflicts: 0 });
    expect(first.receivedNew).toBe(first.read);
    expect(ls('')).toEqual(['.processing', 'done', 'quarantine']);
    expect(ls('done')).toEqual(['change-of-address.ndjson.sealed', 'provisional-licence.json.sealed', 'vehicle-keeper-change.xml.sealed']);
    expect(readdirSync(claimFolder())).toEqual([]);
    const recorded = (await keys()).length;
    expect(recorded).toBe(first.read);

    await copyFile(join(fixtures, 'change-of-address.ndjson'), join(inbox, 'change-of-address.ndjson'));
    const again = await pass(source());
    expect(again).toMatchObject({ read: 11, receivedNew: 0, duplicates: 11 });
    expect(ls('done')).toEqual(['change-of-address-2.ndjson.sealed', 'change-of-address.ndjson.sealed', 'provisional-licence.json.sealed', 'vehicle-keeper-change.xml.sealed']);
    expect((await keys()).length).toBe(recorded);
  });

  it('reads XML with attributes and namespaces into the ledger', async () => {
    await drop('gw.xml', '<?xml version="1.0"?>\n<g:batch xmlns:g="urn:gw"><g:sub ref="A1" g:lang="cy"><g:name>Siân</g:name></g:sub><g:sub ref="A2"><g:name>Ifan</g:name></g:sub></g:batch>\n');
    await pass(source({ xml: { recordPath: 'batch.sub' } }));
    expect(await bodies()).toEqual(expect.arrayContaining([{ '@_ref': 'A1', '@_lang': 'cy', name: 'Siân' }, { '@_ref': 'A2', name: 'Ifan' }]));
    expect(ls('done')).toEqual(['gw.xml.sealed']);
  });

  it('goes on past bad records: the file goes to done with a report of each, naming no value', async () => {
    const text = `${ndjson(['A1'])}{"submission_reference":"A2","name":"Siobhán Secret\n${ndjson(['A3'])}[1,\n${ndjson(['A4'])}`;
    await drop('mixed.ndjson', text);
    const r = await pass(source());
    expect(r).toMatchObject({ read: 3, receivedNew: 3, unreadable: 2 });
    expect(await keys()).toEqual(['F/A1', 'F/A3', 'F/A4']);
    expect(ls('done')).toEqual(['mixed.ndjson.errors.json', 'mixed.ndjson.sealed']);
    const rep = report<ErrorsReport>('done', 'mixed.ndjson.errors.json');
    expect(rep).toMatchObject({ outcome: 'done', file: 'mixed.ndjson', movedTo: 'inbox/done/mixed.ndjson.sealed', recordsRead: 3, unreadable: 2, errorsNotListed: 0 });
    expect(rep.errors).toEqual([
      { record: 2, line: 2, code: 'INPUT_MALFORMED_RECORD', message: expect.stringMatching(/^not valid JSON: /) },
      { record: 4, line: 4, code: 'INPUT_MALFORMED_RECORD', message: expect.stringMatching(/^not valid JSON: /) },
    ]);
    expect(JSON.stringify(rep)).not.toContain('Siobh');
    expect(ls('quarantine')).toEqual([]);
  });
});

describe('inbox: files that cannot be read at all are quarantined, and the next file is read', () => {
  const laughs = [
    '<?xml version="1.0"?>',
    '<!DOCTYPE lolz [',
    ' <!ENTITY lol "lol">',
    ...Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`),
    ']>',
    '<submissions><submission><name>&lol9;</name></submission></submissions>',
    '',
  ].join('\n');
  const good = '<submissions><submission><name>Good</name></submission></submissions>\n';

  it('an entity-expansion bomb: quarantined with the reason, nothing expanded, the next file done', async () => {
    await drop('a-bomb.xml', laughs);
    await drop('b-good.xml', good);
    const r = await pass(source({ xml: { recordPath: 'submissions.submission' } }));
    expect(r).toMatchObject({ read: 1, receivedNew: 1, unreadable: 1 });
    expect(await bodies()).toEqual([{ name: 'Good' }]);
    expect(ls('quarantine')).toEqual(['a-bomb.xml.error.json', 'a-bomb.xml.sealed']);
    expect(ls('done')).toEqual(['b-good.xml.sealed']);
    const rep = report<QuarantineReport>('quarantine', 'a-bomb.xml.error.json');
    expect(rep).toMatchObject({ outcome: 'quarantined', file: 'a-bomb.xml', movedTo: 'inbox/quarantine/a-bomb.xml.sealed', recordsRead: 0, note: 'nothing from this file was recorded' });
    expect(rep.reason).toMatchObject({ code: 'INPUT_XML_FORBIDDEN', line: 2, message: expect.stringContaining('Export the file without a DOCTYPE.') });
  });

  it('a document nested deeper than the limit: quarantined, the next file done', async () => {
    await drop('a-deep.xml', `<submissions><submission>${'<a>'.repeat(5000)}x${'</a>'.repeat(5000)}</submission></submissions>`);
    await drop('b-good.xml', good);
    const r = await pass(source({ xml: { recordPath: 'submissions.submission' } }));
    expect(r).toMatchObject({ receivedNew: 1, unreadable: 1 });
    expect(ls('quarantine')).toEqual(['a-deep.xml.error.json', 'a-deep.xml.sealed']);
    expect(report<QuarantineReport>('quarantine', 'a-deep.xml.error.json').reason).toEqual({
      code: 'INPUT_TOO_DEEP',
      message: 'no record of the file could be read; the first: elements nest deeper than 64 levels (xml.maxDepth)',
      record: 1,
      line: 1,
    });
    expect(ls('done')).toEqual(['b-good.xml.sealed']);
  });

  it('a truncated file: the records before the cut are recorded, the file quarantined saying so', async () => {
    const whole = JSON.stringify([1, 2, 3].map((n) => ({ form_name: 'F', submission_reference: `T${n}` })));
    await drop('cut.json', whole.slice(0, whole.lastIndexOf('{') + 10));
    await drop('next.ndjson', ndjson(['N1']));
    const r = await pass(source());
    expect(r).toMatchObject({ read: 3, receivedNew: 3, unreadable: 1 });
    expect(await keys()).toEqual(['F/N1', 'F/T1', 'F/T2']);
    const rep = report<QuarantineReport>('quarantine', 'cut.json.error.json');
    expect(rep.reason).toMatchObject({ code: 'INPUT_TRUNCATED', record: 3, message: 'the file ends inside this record: the JSON is incomplete' });
    expect(rep).toMatchObject({ recordsRead: 2, note: expect.stringContaining('the 2 record(s) read before the failure are in the ledger') });
    expect(ls('done')).toEqual(['next.ndjson.sealed']);
  });

  it('a file whose format cannot be told: quarantined with the reason', async () => {
    await drop('notes.txt', 'hello');
    await drop('z.ndjson', ndjson(['Z1']));
    const r = await pass(source({ pattern: '*' }));
    expect(r).toMatchObject({ receivedNew: 1, unreadable: 1 });
    expect(report<QuarantineReport>('quarantine', 'notes.txt.error.json').reason).toEqual({
      code: 'INPUT_OPTIONS_INVALID',
      message: `${join(inbox, 'notes.txt')}: cannot tell the format from the name "${join(inbox, 'notes.txt')}": set format to json, ndjson, csv or xml`,
    });
    expect(ls('done')).toEqual(['z.ndjson.sealed']);
  });
});

describe('inbox: encodings and CSV dialects, end to end', () => {
  const rows = [
    ['form_name', 'submission_reference', 'name', 'address'],
    ['F', 'E1', 'Zoë Ó Brádaigh', 'Flat 2\r\nGrove Street'],
    ['F', 'E2', "Seán 'Shaun' O;Connor", 'Caf\u00e9 Road'],
  ];
  const csv = (eol: string) =>
    `# exported by the gateway${eol}` +
    rows.map((r) => r.map((v) => (/[;'\r\n]/.test(v) ? `'${v.replace(/'/g, "\\'")}'` : v)).join(';')).join(eol) +
    eol;
  const dialect = { delimiter: ';', quote: "'", escape: '\\', comment: '#' };
  const cases: [string, Buffer, InboxSourceConfig['encoding']][] = [
    ['utf-8, LF', Buffer.from(csv('\n')), undefined],
    ['utf-8 with BOM, CRLF', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv('\r\n'))]), 'windows-1252'],
    ['windows-1252, CRLF', iconv.encode(csv('\r\n'), 'windows-1252'), 'windows-1252'],
    ['latin1, LF', iconv.encode(csv('\n'), 'latin1'), 'latin1'],
  ];
  for (const [name, bytes, encoding] of cases) {
    it(`${name}: every value arrives intact, embedded newline and escaped quote included`, async () => {
      await drop('export.csv', bytes);
      const r = await pass(source({ csv: dialect, ...(encoding && { encoding }) }));
      expect(r).toMatchObject({ read: 2, receivedNew: 2, unreadable: 0 });
      expect(await bodies()).toEqual([
        { form_name: 'F', submission_reference: 'E1', name: 'Zoë Ó Brádaigh', address: 'Flat 2\r\nGrove Street' },
        { form_name: 'F', submission_reference: 'E2', name: "Seán 'Shaun' O;Connor", address: 'Café Road' },
      ]);
      expect(ls('done')).toEqual(['export.csv.sealed']);
    });
  }
});

describe('inbox: a quote inside an unquoted CSV field', () => {
  const text = 'form_name,submission_reference,name\nF,Q1,b"c\n';

  it('quarantines the file by default, with the exact error', async () => {
    await drop('quotes.csv', text);
    const r = await pass(source());
    expect(r).toMatchObject({ read: 0, unreadable: 1 });
    expect(ls('quarantine')).toEqual(['quotes.csv.error.json', 'quotes.csv.sealed']);
    expect(report<QuarantineReport>('quarantine', 'quotes.csv.error.json').reason).toEqual({
      code: 'INPUT_MALFORMED_RECORD',
      message: 'no record of the file could be read; the first: a quote appears inside an unquoted field in field 3 at line 2',
      record: 1,
      line: 2,
    });
  });

  it('is read as it stands with csv.relaxQuotes', async () => {
    await drop('quotes.csv', text);
    const r = await pass(source({ csv: { relaxQuotes: true } }));
    expect(r).toMatchObject({ read: 1, receivedNew: 1, unreadable: 0 });
    expect(await bodies()).toEqual([{ form_name: 'F', submission_reference: 'Q1', name: 'b"c' }]);
    expect(ls('done')).toEqual(['quotes.csv.sealed']);
  });
});

describe('inbox: half-written files are left alone', () => {
  it('leaves temporary names and files changed within the settle time', async () => {
    for (const n of ['a.ndjson.part', 'b.ndjson.partial', 'c.csv.tmp', 'd.xml.crdownload', 'e.json.filepart', 'f.ndjson~', '.g.ndjson']) await drop(n, ndjson(['X']));
    await drop('fresh.ndjson', ndjson(['FRESH']), 0);
    await drop('old.ndjson', ndjson(['OLD']));
    const r = await pass(source({ settle: '30s' }));
    expect(r).toMatchObject({ read: 1, receivedNew: 1 });
    expect(await keys()).toEqual(['F/OLD']);
    expect(readdirSync(inbox).sort()).toEqual(['.g.ndjson', '.processing', 'a.ndjson.part', 'b.ndjson.partial', 'c.csv.tmp', 'd.xml.crdownload', 'done', 'e.json.filepart', 'f.ndjson~', 'fresh.ndjson', 'quarantine']);
  });

  it('takes a growing file only once it has stopped growing for the settle time', async () => {
    const path = await drop('growing.ndjson', ndjson(['G1']), 0);
    const src = () => source({ settle: '400ms' });
    let n = 1;
    const grow = setInterval(() => void appendFile(path, ndjson([`G${++n}`])), 50);
    await new Promise((r) => setTimeout(r, 600));
    expect((await src().pending()).ready).toBe(false);
    expect(await pass(src())).toMatchObject({ read: 0 });
    clearInterval(grow);
    await new Promise((r) => setTimeout(r, 100));
    const pending = await src().pending();
    expect(pending.ready).toBe(false);
    expect(pending.wait).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, (pending.wait ?? 0) + 20));
    expect((await src().pending()).ready).toBe(true);
    const r = await pass(src());
    expect(r).toMatchObject({ read: n, receivedNew: n });
    expect(ls('done')).toEqual(['growing.ndjson.sealed']);
  });
});

describe('inbox: claims', () => {
  it('two runners reading at once never take the same file, and between them take every file', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `f${String(i).padStart(2, '0')}.ndjson`);
    for (const n of names) await drop(n, ndjson([n]));
    const files = (items: SourceItem[]) => [...new Set(items.map((i) => i.at.file))];
    const [a, b] = await Promise.all([all(source({}, { claimant: 'a' }).read(ctx())), all(source({}, { claimant: 'b' }).read(ctx()))]);
    const both = files(a).filter((f) => files(b).includes(f));
    expect(both).toEqual([]);
    expect([...files(a), ...files(b)].sort()).toEqual(names.map((n) => join(inbox, n)));
    expect(files(a).length).toBeGreaterThan(0);
    expect(files(b).length).toBeGreaterThan(0);
  });

  it('a pass stopped midway leaves its file claimed; the next pass reads it again and records each record once', async () => {
    await drop('big.ndjson', ndjson(Array.from({ length: 50 }, (_, i) => `R${i}`)));
    const abort = new AbortController();
    const src = source();
    const partial: SourceItem[] = [];
    for await (const item of src.read(ctx(abort.signal))) {
      partial.push(item);
      if (partial.length === 20) abort.abort();
    }
    await src.commit(ctx());
    expect(partial).toHaveLength(20);
    expect(readdirSync(claimFolder())).toEqual(['big.ndjson']);
    expect(ls('done')).toEqual([]);
    const r = await pass(source());
    expect(r).toMatchObject({ read: 50, receivedNew: 50 });
    expect(await keys()).toHaveLength(50);
    expect(ls('done')).toEqual(['big.ndjson.sealed']);
  });

  it('takes over the claims of a runner on this host that is gone, and of a runner elsewhere untouched for staleClaim', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const processing = join(inbox, '.processing');
    const claims = { dead: join(processing, `${hostname()}~${dead}`), stale: join(processing, 'elsewhere~42'), fresh: join(processing, 'elsewhere~43'), alive: join(processing, `${hostname()}~${process.pid}~other`) };
    for (const [k, d] of Object.entries(claims)) {
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'same.ndjson'), ndjson([k.toUpperCase()]));
    }
    const old = new Date(Date.now() - 3_600_000);
    await utimes(claims.stale, old, old);
    const r = await pass(source({ staleClaim: '30m' }));
    expect(r).toMatchObject({ read: 2, receivedNew: 2 });
    expect(await keys()).toEqual(['F/DEAD', 'F/STALE']);
    expect(ls('done')).toEqual(['same-2.ndjson.sealed', 'same.ndjson.sealed']);
    expect(readdirSync(processing).sort()).toEqual(['elsewhere~43', `${hostname()}~${process.pid}`, `${hostname()}~${process.pid}~other`].sort());
  });
});

describe('inbox: only sealed copies are kept', () => {
  const CANARY = 'Zqx7Canary';
  const good = `form_name,submission_reference,name\nF,S1,${CANARY} One\nF,S2,${CANARY} Two\n`;
  const bad = `form_name,submission_reference,name,name\nF,Q1,${CANARY} Dup,x\n`;
  const raw = (sub: string, name: string) => readFileSync(join(inbox, sub, name));

  it('done and quarantine hold ciphertext only; each opens to the exact bytes dropped', async () => {
    await drop('good.csv', good);
    await drop('bad.csv', bad);
    const r = await pass(source());
    expect(r).toMatchObject({ read: 2, receivedNew: 2, unreadable: 1 });
    expect(ls('done')).toEqual(['good.csv.sealed']);
    expect(ls('quarantine')).toEqual(['bad.csv.error.json', 'bad.csv.sealed']);
    for (const [sub, name] of [['done', 'good.csv.sealed'], ['quarantine', 'bad.csv.sealed']] as const) {
      const bytes = raw(sub, name);
      expect(bytes.subarray(0, SEALED_FILE_MAGIC.length).equals(SEALED_FILE_MAGIC)).toBe(true);
      for (const clear of [CANARY, 'submission_reference', 'form_name', 'F,S1', 'F,Q1']) expect(bytes.includes(clear)).toBe(false);
      expect(statSync(join(inbox, sub, name)).mode & 0o077).toBe(0);
    }
    expect(raw('quarantine', 'bad.csv.error.json').includes(CANARY)).toBe(false);
    const files = ledger.sealedFiles('inbox-test');
    expect((await files.read(join(inbox, 'done', 'good.csv.sealed'))).equals(Buffer.from(good))).toBe(true);
    expect((await files.read(join(inbox, 'quarantine', 'bad.csv.sealed'))).equals(Buffer.from(bad))).toBe(true);
    const rows = await store.select<{ path: string; kind: string; subject: string | null }>('SELECT path, kind, subject FROM sealed_files WHERE pipeline = $1 ORDER BY kind', ['inbox-test']);
    expect(rows).toEqual([
      { path: join(inbox, 'done', 'good.csv.sealed'), kind: 'inbox-done', subject: null },
      { path: join(inbox, 'quarantine', 'bad.csv.sealed'), kind: 'inbox-quarantine', subject: null },
    ]);
    expect(readdirSync(claimFolder())).toEqual([]);
    expect(readdirSync(inbox).sort()).toEqual(['.processing', 'done', 'quarantine']);
  });

  it('never seals into a name taken: an empty reservation a crash left, or a report of a file from before sealing', async () => {
    await mkdir(join(inbox, 'done'), { recursive: true });
    await writeFile(join(inbox, 'done', 'x.ndjson.sealed'), '');
    await writeFile(join(inbox, 'done', 'x-2.ndjson.errors.json'), '{}');
    await drop('x.ndjson', ndjson(['X1']));
    await pass(source());
    expect(ls('done')).toEqual(['x-2.ndjson.errors.json', 'x-3.ndjson.sealed', 'x.ndjson.sealed']);
    expect((await ledger.sealedFiles('inbox-test').read(join(inbox, 'done', 'x-3.ndjson.sealed'))).toString()).toBe(ndjson(['X1']));
  });

  it('seals the clear files an earlier version left in done and quarantine, once, keeping their reports', async () => {
    await mkdir(join(inbox, 'done'), { recursive: true });
    await mkdir(join(inbox, 'quarantine'), { recursive: true });
    await writeFile(join(inbox, 'done', 'old.csv'), good);
    await writeFile(join(inbox, 'done', 'old.csv.errors.json'), '{"outcome":"done"}');
    await writeFile(join(inbox, 'quarantine', 'bad.csv'), bad);
    await writeFile(join(inbox, 'quarantine', 'bad.csv.error.json'), '{"outcome":"quarantined"}');
    await writeFile(join(inbox, 'done', '.half.csv.sealed.0a1b.tmp'), 'ciphertext a kill left');
    const src = source();
    await pass(src);
    expect(ls('done')).toEqual(['.half.csv.sealed.0a1b.tmp', 'old.csv.errors.json', 'old.csv.sealed']);
    expect(ls('quarantine')).toEqual(['bad.csv.error.json', 'bad.csv.sealed']);
    expect(raw('done', 'old.csv.sealed').includes(CANARY)).toBe(false);
    const files = ledger.sealedFiles('inbox-test');
    expect((await files.read(join(inbox, 'done', 'old.csv.sealed'))).toString()).toBe(good);
    expect((await files.read(join(inbox, 'quarantine', 'bad.csv.sealed'))).toString()).toBe(bad);
    const kinds = await store.select<{ kind: string }>('SELECT kind FROM sealed_files WHERE pipeline = $1 ORDER BY kind', ['inbox-test']);
    expect(kinds.map((k) => k.kind)).toEqual(['inbox-done', 'inbox-quarantine']);
    await writeFile(join(inbox, 'done', 'later.csv'), good);
    await pass(src);
    expect(ls('done')).toContain('later.csv');
  });

  it('without ctx.files the inbox refuses to start and claims nothing', async () => {
    await drop('a.ndjson', ndjson(['A1']));
    const { files: _files, ...bare } = ctx();
    await expect(all(source().read(bare))).rejects.toMatchObject({ code: 'SEALED_FILES_MISSING', disposition: 'fatal' });
    expect(readdirSync(inbox)).toEqual(['a.ndjson']);
  });

  it('a file that cannot be sealed stays claimed, its reservation removed; the next pass seals it', async () => {
    await drop('a.ndjson', ndjson(['A1']));
    const closed = await openStateStore(`sqlite:${join(dir, 'closed.sqlite')}`);
    await closed.close();
    const src = source();
    expect(await all(src.read(ctx()))).toHaveLength(1);
    await src.commit({ ...ctx(), files: new Ledger(closed, new AuditLog(closed), TEST_KEYS).sealedFiles('inbox-test') });
    expect(readdirSync(claimFolder())).toEqual(['a.ndjson']);
    expect(ls('done')).toEqual([]);
    const { files: _files, ...bare } = ctx();
    expect(await all(src.read(ctx()))).toHaveLength(1);
    await src.commit(bare);
    expect(readdirSync(claimFolder())).toEqual(['a.ndjson']);
    expect(ls('done')).toEqual([]);
    await pass(source());
    expect(ls('done')).toEqual(['a.ndjson.sealed']);
    expect(readdirSync(claimFolder())).toEqual([]);
  });
});

describe('inbox: watching', () => {
  it('wakes when a file arrives and once a settling file is ready, not before', async () => {
    await mkdir(inbox, { recursive: true });
    const abort = new AbortController();
    const wakes: number[] = [];
    const start = Date.now();
    source({ settle: '500ms', pollInterval: '1h' }).watch(ctx(abort.signal), () => wakes.push(Date.now() - start));
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(wakes).toEqual([]);
      await writeFile(join(inbox, 'new.ndjson'), ndjson(['W1']));
      const dropped = Date.now() - start;
      await expect.poll(() => wakes.length, { timeout: 5000, interval: 50 }).toBeGreaterThan(0);
      expect(wakes[0]!).toBeGreaterThanOrEqual(dropped + 450);
    } finally {
      abort.abort();
    }
  });

  it('is built without touching the file system, and refuses a settle time it cannot read', () => {
    expect(inboxSource.create({ path: 'nowhere' }, { baseDir: dir, pipeline: 'p' })).toBeInstanceOf(InboxSource);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
    expect(() => inboxSource.create({ path: 'x', settle: 'soon' }, { baseDir: dir, pipeline: 'p' })).toThrow('settle must be a duration like 2s or 10m, got "soon"');
  });
});
