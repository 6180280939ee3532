import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectorState, Ctx, MappedRecord } from '../connector.types.js';
import type { FileDropConfig } from './file-drop.config.js';
import { FileDropTarget } from './file-drop.target.js';
import { deadPid, journalledNotRenamed, useDropTestEnv } from './file-drop.test-helpers.js';
import { fixedWidthFormat, type FixedWidthFormatConfig } from './formats/fixed-width.format.js';
import { renderFile } from './formats/render.js';
import { entryName, loadEntries, loadKeys } from './journal.js';

const LAYOUT: FixedWidthFormatConfig = {
  kind: 'fixed-width',
  header: { fields: [{ name: 'T', length: 1, value: 'H' }, { name: 'D', length: 8, date: 'yyyyMMdd' }, { name: 'S', length: 4, sequence: true }] },
  detail: { fields: [{ name: 'T', length: 1, value: 'D' }, { name: 'REF', length: 6 }, { name: 'FEE', length: 6, type: 'numeric', decimals: 2 }] },
  trailer: { fields: [{ name: 'T', length: 1, value: 'T' }, { name: 'N', length: 5, count: 'records' }, { name: 'SUM', length: 7, sum: 'FEE', decimals: 2 }] },
};
const NOW = new Date('2024-03-05T10:00:00Z');
const rec = (n: number, uncertain = false, fee: unknown = `${n}.25`): MappedRecord => ({ key: `form/K${n}`, record: { REF: `R${n}`, FEE: fee }, children: {}, mappingVersion: 'v1', uncertain });

const env = useDropTestEnv('rekey-drop-');
let dir: string;
let state: ConnectorState;
let ctx: Ctx;

/** Every target a test made: one standing for a runner that crashed is left as it was, and closed after the test (its file handle released, not left to the garbage collector). */
const made: FileDropTarget[] = [];
const target = (over: Partial<FileDropConfig> = {}) => {
  const t = new FileDropTarget({ folder: 'drop', name: 'DRV_{date:yyyyMMdd}_{seq:6}.dat', trigger: '.ok', manifest: true, format: LAYOUT, ...over }, { baseDir: dir, pipeline: 'coa' }, () => NOW);
  made.push(t);
  return t;
};
const listing = async () => (await readdir(join(dir, 'drop'))).sort();

beforeEach(() => void ({ dir, state, ctx } = env));
afterEach(async () => {
  for (const t of made.splice(0)) await t.close();
});

describe('file-drop target', () => {
  it('holds every record until flush, then puts one file in place with manifest and trigger', async () => {
    const t = target();
    await t.connect(ctx);
    expect(await t.deliver([rec(1), rec(2)], ctx)).toEqual([{ key: 'form/K1', status: 'held' }, { key: 'form/K2', status: 'held' }]);
    expect(await t.deliver([rec(3), rec(4, false, '1.234')], ctx)).toEqual([
      { key: 'form/K3', status: 'held' },
      { key: 'form/K4', status: 'rejected', error: { code: 'FILE_DROP_VALUE', disposition: 'reject', field: 'FEE', message: 'FEE: has 3 decimal places; the field has 2' } },
    ]);
    expect(await listing()).toEqual(['.DRV_20240305_000001.dat.tmp']);
    expect(await t.flush(ctx)).toEqual([1, 2, 3].map((n) => ({ key: `form/K${n}`, status: 'delivered', legacyRef: `DRV_20240305_000001.dat#${n}` })));
    await t.close();
    expect(await listing()).toEqual(['DRV_20240305_000001.dat', 'DRV_20240305_000001.dat.manifest.json', 'DRV_20240305_000001.dat.ok']);
    const bytes = await readFile(join(dir, 'drop', 'DRV_20240305_000001.dat'));
    const facts = { name: 'DRV_20240305_000001.dat', sequence: 1, createdAt: NOW, pipeline: 'coa' };
    expect(bytes.equals(renderFile(fixedWidthFormat(LAYOUT), [rec(1), rec(2), rec(3)], facts).bytes)).toBe(true);
    expect(bytes.toString('latin1')).toBe('H202403050001\r\nDR1    000125\r\nDR2    000225\r\nDR3    000325\r\nT000030000675\r\n');
    const manifest = JSON.parse(await readFile(join(dir, 'drop', 'DRV_20240305_000001.dat.manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toEqual({ file: 'DRV_20240305_000001.dat', sequence: 1, pipeline: 'coa', createdAt: NOW.toISOString(), records: 3, lines: 3, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), totals: { FEE: '6.75' } });
    expect((await readFile(join(dir, 'drop', 'DRV_20240305_000001.dat.ok'))).length).toBe(0);
    const [entry] = await loadEntries(state);
    expect(entry).toMatchObject({ state: 'published', name: 'DRV_20240305_000001.dat', seq: 1, records: 3 });
    expect(entry!.keys).toBeUndefined();
    expect(entry!.totals).toBeUndefined();
    expect(await loadKeys(state, entry!)).toEqual(['form/K1', 'form/K2', 'form/K3']);
  });

  it('gives back the number of a file that could not be written, so the published sequence has no gap', async () => {
    const t = target();
    await t.connect(ctx);
    // A file in the way of the first file's temporary name: opening it fails, as on a full disk.
    await mkdir(join(dir, 'drop', '.DRV_20240305_000001.dat.tmp', 'blocked'), { recursive: true });
    await expect(t.deliver([rec(1)], ctx)).rejects.toMatchObject({ code: 'FILE_DROP_IO' });
    await expect(t.deliver([rec(1)], ctx)).rejects.toMatchObject({ code: 'FILE_DROP_IO' });
    expect(await loadEntries(state)).toEqual([]);
    await rm(join(dir, 'drop', '.DRV_20240305_000001.dat.tmp'), { recursive: true });
    expect(await t.deliver([rec(1), rec(2)], ctx)).toEqual([{ key: 'form/K1', status: 'held' }, { key: 'form/K2', status: 'held' }]);
    expect((await t.flush(ctx)).map((o) => (o.status === 'delivered' ? o.legacyRef : o.status))).toEqual(['DRV_20240305_000001.dat#1', 'DRV_20240305_000001.dat#2']);
    expect(await t.deliver([rec(3)], ctx)).toEqual([{ key: 'form/K3', status: 'held' }]);
    expect((await t.flush(ctx)).map((o) => (o.status === 'delivered' ? o.legacyRef : o.status))).toEqual(['DRV_20240305_000002.dat#1']);
    await t.close();
    expect((await listing()).filter((n) => n.endsWith('.dat'))).toEqual(['DRV_20240305_000001.dat', 'DRV_20240305_000002.dat']);
  });

  it('rotates every N records: full files are delivered at once, the rest at flush; sequence numbers go on across runs', async () => {
    const t = target({ rotate: { records: 2 }, trigger: undefined, manifest: false });
    await t.connect(ctx);
    expect((await t.deliver([rec(1)], ctx)).map((o) => o.status)).toEqual(['held']);
    const second = await t.deliver([rec(2), rec(3), rec(4), rec(5)], ctx);
    expect(second).toEqual([
      { key: 'form/K2', status: 'delivered', legacyRef: 'DRV_20240305_000001.dat#2' },
      { key: 'form/K3', status: 'delivered', legacyRef: 'DRV_20240305_000002.dat#1' },
      { key: 'form/K4', status: 'delivered', legacyRef: 'DRV_20240305_000002.dat#2' },
      { key: 'form/K5', status: 'held' },
    ]);
    expect(await t.flush(ctx)).toEqual([
      { key: 'form/K1', status: 'delivered', legacyRef: 'DRV_20240305_000001.dat#1' },
      { key: 'form/K5', status: 'delivered', legacyRef: 'DRV_20240305_000003.dat#1' },
    ]);
    await t.close();
    const next = target({ manifest: false, trigger: undefined });
    await next.connect(ctx);
    await next.deliver([rec(6)], ctx);
    await next.flush(ctx);
    expect(await listing()).toEqual(['DRV_20240305_000001.dat', 'DRV_20240305_000002.dat', 'DRV_20240305_000003.dat', 'DRV_20240305_000004.dat']);
  });

  it('rotates by time window: a file open longer than rotate.every is put in place when the next record comes', async () => {
    let now = NOW.getTime();
    const t = new FileDropTarget({ folder: 'drop', name: 'W_{date:HHmm}_{seq:2}.dat', rotate: { every: '1m' }, format: LAYOUT }, { baseDir: dir, pipeline: 'coa' }, () => new Date(now));
    await t.connect(ctx);
    expect(await t.deliver([rec(1)], ctx)).toEqual([{ key: 'form/K1', status: 'held' }]);
    now += 30_000;
    expect(await t.deliver([rec(2)], ctx)).toEqual([{ key: 'form/K2', status: 'held' }]);
    now += 40_000;
    expect(await t.deliver([rec(3)], ctx)).toEqual([{ key: 'form/K3', status: 'held' }]);
    expect(await listing()).toEqual(['.W_1001_02.dat.tmp', 'W_1000_01.dat']);
    expect(await t.flush(ctx)).toEqual([
      { key: 'form/K1', status: 'delivered', legacyRef: 'W_1000_01.dat#1' },
      { key: 'form/K2', status: 'delivered', legacyRef: 'W_1000_01.dat#2' },
      { key: 'form/K3', status: 'delivered', legacyRef: 'W_1001_02.dat#1' },
    ]);
  });

  it('after a crash while writing, deletes the temporary file and writes the records again in a new file under the same number (no gap)', async () => {
    const t = target();
    await t.connect(ctx);
    await t.deliver([rec(1), rec(2)], ctx);
    const [open] = await loadEntries(state);
    await state.set(entryName(1), JSON.stringify({ ...open, pid: deadPid() }));
    const restarted = target();
    await restarted.connect(ctx);
    expect(await listing()).toEqual([]);
    expect(await loadEntries(state)).toEqual([]);
    expect(await restarted.deliver([rec(1, true), rec(2, true)], ctx)).toEqual([{ key: 'form/K1', status: 'held' }, { key: 'form/K2', status: 'held' }]);
    expect((await restarted.flush(ctx)).map((o) => o.status === 'delivered' && o.legacyRef)).toEqual(['DRV_20240305_000001.dat#1', 'DRV_20240305_000001.dat#2']);
  });

  it('after a crash between the rename and the ledger update, answers the records as already present and never writes them again', async () => {
    const t = target();
    await t.connect(ctx);
    await t.deliver([rec(1), rec(2)], ctx);
    await t.flush(ctx);
    const [done] = await loadEntries(state);
    await state.set(entryName(1), JSON.stringify({ ...done, state: 'pending', pid: deadPid() }));
    await rm(join(dir, 'drop', 'DRV_20240305_000001.dat.ok'));
    const restarted = target();
    await restarted.connect(ctx);
    expect(await listing()).toEqual(['DRV_20240305_000001.dat', 'DRV_20240305_000001.dat.manifest.json', 'DRV_20240305_000001.dat.ok']);
    expect((await loadEntries(state))[0]!.state).toBe('published');
    expect(await restarted.deliver([rec(1, true), rec(2, false), rec(3, false)], ctx)).toEqual([
      { key: 'form/K1', status: 'delivered', legacyRef: 'DRV_20240305_000001.dat#1', alreadyPresent: true },
      { key: 'form/K2', status: 'delivered', legacyRef: 'DRV_20240305_000001.dat#2', alreadyPresent: true },
      { key: 'form/K3', status: 'held' },
    ]);
    await restarted.flush(ctx);
    const all = (await Promise.all((await loadEntries(state)).map((e) => loadKeys(state, e)))).flat();
    expect(all.sort()).toEqual(['form/K1', 'form/K2', 'form/K3']);
  });

  it('after a crash between journalling a finished file and renaming it, deletes it: nothing is visible under a final name', async () => {
    const t = target();
    await journalledNotRenamed(t, ctx, state, rec(1));
    await target().connect(ctx);
    expect(await listing()).toEqual([]);
    expect(await loadEntries(state)).toEqual([]);
    expect(await state.list('file-drop.keys.')).toEqual([]);
  });

  it('never replaces a file already under the next name (a state store started afresh): refuses before writing, and the old file is untouched', async () => {
    await mkdir(join(dir, 'drop'), { recursive: true });
    await writeFile(join(dir, 'drop', 'DRV_20240305_000001.dat'), 'collected tomorrow\n');
    const t = target();
    await t.connect(ctx);
    await expect(t.deliver([rec(1)], ctx)).rejects.toMatchObject({ code: 'FILE_DROP_EXISTS', disposition: 'fatal', message: expect.stringContaining('"DRV_20240305_000001.dat" is already in the drop folder') });
    expect(await readFile(join(dir, 'drop', 'DRV_20240305_000001.dat'), 'utf8')).toBe('collected tomorrow\n');
    expect(await listing()).toEqual(['DRV_20240305_000001.dat']);
    expect(await loadEntries(state)).toEqual([]);
    await t.close();
    const again = target();
    await again.connect(ctx);
    expect(await again.deliver([rec(1)], ctx)).toEqual([{ key: 'form/K1', status: 'held' }]);
    expect(await again.flush(ctx)).toEqual([{ key: 'form/K1', status: 'delivered', legacyRef: 'DRV_20240305_000002.dat#1' }]);
    await again.close();
  });

  it('a file that appears under the final name while the run writes is not replaced either; once it is moved away the run is written again', async () => {
    const t = target({ trigger: undefined, manifest: false });
    await t.connect(ctx);
    await t.deliver([rec(1), rec(2)], ctx);
    await writeFile(join(dir, 'drop', 'DRV_20240305_000001.dat'), 'someone else\n');
    await expect(t.flush(ctx)).rejects.toMatchObject({ code: 'FILE_DROP_EXISTS', disposition: 'fatal' });
    await t.close();
    expect(await readFile(join(dir, 'drop', 'DRV_20240305_000001.dat'), 'utf8')).toBe('someone else\n');
    const [pending] = await loadEntries(state);
    expect(pending).toMatchObject({ state: 'pending', seq: 1 });
    await expect(target().connect(ctx)).rejects.toMatchObject({ code: 'FILE_DROP_EXISTS' });
    await rm(join(dir, 'drop', 'DRV_20240305_000001.dat'));
    const next = target({ trigger: undefined, manifest: false });
    await next.connect(ctx);
    expect(await listing()).toEqual([]);
    expect(await loadEntries(state)).toEqual([]);
    await next.deliver([rec(1), rec(2)], ctx);
    expect(await next.flush(ctx)).toEqual([1, 2].map((n) => ({ key: `form/K${n}`, status: 'delivered', legacyRef: `DRV_20240305_000001.dat#${n}` })));
    await next.close();
  });

  it('leaves the files of a live runner alone', async () => {
    const t = target();
    await t.connect(ctx);
    await t.deliver([rec(1)], ctx);
    const [open] = await loadEntries(state);
    await state.set(entryName(1), JSON.stringify({ ...open, pid: process.ppid }));
    await target().connect(ctx);
    expect(await listing()).toEqual(['.DRV_20240305_000001.dat.tmp']);
  });

  it('refuses name templates that could leave the drop folder, listing every problem', () => {
    const problems = (name: string) => {
      try {
        target({ name });
        return [];
      } catch (e) {
        return (e as { problems: string[] }).problems;
      }
    };
    expect(problems('../up_{seq:6}.dat')).toEqual(['name template "../up_{seq:6}.dat": a file name cannot hold / \\ : * ? " < > |, braces or control characters; the file must stay in the drop folder', 'name template "../up_{seq:6}.dat": ".." is not allowed; the file must stay in the drop folder', 'name template "../up_{seq:6}.dat": names starting with "." are the target\'s temporary files']);
    expect(problems('/etc/x{seq}')).toHaveLength(1);
    expect(problems('a\\b{seq}')).toHaveLength(1);
    expect(problems('DRV_{date:yyyy/MM}_{seq}')).toEqual(['name template "DRV_{date:yyyy/MM}_{seq}": {date:yyyy/MM} is not one of {pipeline}, {date:FORMAT} (letters, digits, - _ .), {seq:WIDTH}, {ext}']);
    expect(problems('DRV_{date:yyyyMMdd}.dat')).toEqual(['name template "DRV_{date:yyyyMMdd}.dat": needs {seq} (or {seq:WIDTH}) so that no two files get the same name']);
    expect(problems('DRV_{field:SURNAME}_{seq}')).toHaveLength(1);
    expect(problems('{pipeline}_{seq:4}.{ext}')).toEqual([]);
    expect(() => new FileDropTarget({ folder: 'x', format: LAYOUT }, { baseDir: dir, pipeline: '../evil' })).toThrow('pipeline name "../evil" cannot be part of a file name');
  });

  it('reads the answers of the legacy system for published files and maps record numbers back to keys', async () => {
    const ack = { folder: 'answers', match: '{base}.ack', linePrefix: 'D', record: { start: 2, length: 4 }, status: { start: 6, length: 1 }, reason: { start: 7 }, accepted: ['A'], rejected: ['R'] };
    const t = target({ ack });
    await t.connect(ctx);
    expect(await t.reconciliations(ctx)).toEqual([]);
    expect(await t.answers(ctx)).toEqual([]);
    await t.deliver([rec(1), rec(2), rec(3)], ctx);
    await t.flush(ctx);
    await t.deliver([rec(4)], ctx);
    await t.flush(ctx);
    await mkdir(join(dir, 'answers'));
    await writeFile(join(dir, 'answers', 'DRV_20240305_000001.ack'), 'H\nD0001A\nD0003RNO SUCH DRIVER\nD0002A\nT\n');
    expect(await t.reconciliations(ctx)).toEqual([
      {
        file: 'DRV_20240305_000001.dat',
        ack: 'DRV_20240305_000001.ack',
        results: [
          { key: 'form/K1', record: 1, status: 'accepted' },
          { key: 'form/K2', record: 2, status: 'accepted' },
          { key: 'form/K3', record: 3, status: 'rejected', reason: 'NO SUCH DRIVER' },
        ],
        unanswered: [],
        problems: [],
      },
    ]);
    expect(await t.reconciliations(ctx, new Set(['DRV_20240305_000001.dat']))).toEqual([]);
  });

  it('hands the answers over as answer sets naming each delivery, until they are marked applied in the journal', async () => {
    const ack = { match: '{name}.ack', linePrefix: 'D', record: { start: 2, length: 4 }, status: { start: 6, length: 1 }, reason: { start: 7 }, accepted: ['A'], rejected: ['R'] };
    const t = target({ ack });
    await t.connect(ctx);
    await t.deliver([rec(1), rec(2), rec(3)], ctx);
    await t.flush(ctx);
    await writeFile(join(dir, 'drop', 'DRV_20240305_000001.dat.ack'), 'D0002RE114 POSTCODE NOT ON FILE\nD0001A\nD0009A\n');
    const sets = await t.answers(ctx);
    expect(sets).toEqual([
      {
        id: 'DRV_20240305_000001.dat',
        source: 'DRV_20240305_000001.dat.ack',
        results: [
          { key: 'form/K1', legacyRef: 'DRV_20240305_000001.dat#1', accepted: true },
          { key: 'form/K2', legacyRef: 'DRV_20240305_000001.dat#2', accepted: false, reason: 'E114 POSTCODE NOT ON FILE' },
        ],
        problems: ['DRV_20240305_000001.dat.ack line 3: record 9 is not in DRV_20240305_000001.dat, which has 3', 'DRV_20240305_000001.dat.ack: 1 record(s) of DRV_20240305_000001.dat not answered'],
      },
    ]);
    expect(await t.answers(ctx)).toEqual(sets);
    await t.answered(ctx, ['DRV_20240305_000001.dat', 'NOT_A_FILE.dat']);
    expect(await t.answers(ctx)).toEqual([]);
    const [entry] = await loadEntries(state);
    expect(entry).toMatchObject({ state: 'published', answered: { at: NOW.toISOString(), ack: 'DRV_20240305_000001.dat.ack' } });
  });

  it('needs the connector state', async () => {
    await expect(target().connect({ ...ctx, state: undefined })).rejects.toMatchObject({ code: 'FILE_DROP_NO_STATE', disposition: 'fatal' });
    await writeFile(join(dir, 'drop'), 'a file where the folder should be');
    await expect(target().connect(ctx)).rejects.toMatchObject({ code: 'FILE_DROP_IO', disposition: 'retry' });
  });
});
