import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ConnectorState, Ctx, MappedRecord } from '../connector.types.js';
import type { AckConfig } from './ack/ack.config.js';
import type { FileDropConfig } from './file-drop.config.js';
import { FileDropTarget } from './file-drop.target.js';
import { deadPid, journalledNotRenamed, useDropTestEnv } from './file-drop.test-helpers.js';
import { entryName, keysName, loadEntries, loadKeys } from './journal.js';

const ACK: AckConfig = { match: '{name}.ack', linePrefix: 'D', record: { start: 2, length: 4 }, status: { start: 6, length: 1 }, reason: { start: 7 }, accepted: ['A'], rejected: ['R'] };
const rec = (n: number, uncertain = false): MappedRecord => ({ key: `form/K${n}`, record: { REF: `R${n}` }, children: {}, mappingVersion: 'v1', uncertain });
const present = (n: number, ref: string) => ({ key: `form/K${n}`, status: 'delivered', legacyRef: ref, alreadyPresent: true });

const env = useDropTestEnv('rekey-drop-journal-');
let dir: string;
let state: ConnectorState;
let ctx: Ctx;

const target = (over: Partial<FileDropConfig> = {}) => new FileDropTarget({ folder: 'drop', name: 'F_{seq:4}.csv', format: { kind: 'csv', columns: ['REF'] }, ack: ACK, ...over }, { baseDir: dir, pipeline: 'coa' }, () => new Date('2024-03-05T10:00:00Z'));
const listing = async () => (await readdir(join(dir, 'drop'))).sort();

/** Publishes records 1..n, `perFile` to a file, in one pass. */
async function publish(n: number, perFile: number): Promise<void> {
  const t = target({ rotate: { records: perFile } });
  await t.connect(ctx);
  await t.deliver(Array.from({ length: n }, (_, i) => rec(i + 1)), ctx);
  await t.flush(ctx);
  await t.close();
}

/** `state`, recording every read of keys rows. */
function counting(): { ctx: Ctx; reads: string[]; keyReads: () => string[] } {
  const reads: string[] = [];
  const s: ConnectorState = {
    get: (name) => (reads.push(`get ${name}`), state.get(name)),
    list: (prefix) => (reads.push(`list ${prefix}`), state.list(prefix)),
    set: (name, value) => state.set(name, value),
    delete: (name) => state.delete(name),
    next: (name) => state.next(name),
  };
  return { ctx: { ...ctx, state: s }, reads, keyReads: () => reads.filter((r) => r.includes('file-drop.keys.')) };
}

/** Rewrites the entry of file `seq` as the earlier layout wrote it: keys inline, no keys row. */
async function toEarlierLayout(seq: number, over: Record<string, unknown> = {}): Promise<void> {
  const e = (await loadEntries(state)).find((x) => x.seq === seq)!;
  const { records: _records, ...rest } = e;
  await state.set(entryName(seq), JSON.stringify({ ...rest, keys: await loadKeys(state, e), ...over }));
  await state.delete(keysName(seq));
}

beforeEach(() => void ({ dir, state, ctx } = env));

describe('file-drop journal: keys in rows of their own', () => {
  it('connect reads no keys of published files; uncertain records are looked up newest file first, each keys row read at most once a pass', async () => {
    await publish(30, 3);
    expect((await loadEntries(state)).map((e) => [e.state, e.records, e.keys])).toEqual(Array.from({ length: 10 }, () => ['published', 3, undefined]));
    const c = counting();
    const t = target();
    await t.connect(c.ctx);
    expect(c.reads).toEqual(['list file-drop.file.']);
    expect(await t.deliver([rec(31)], c.ctx)).toEqual([{ key: 'form/K31', status: 'held' }]);
    expect(c.keyReads()).toEqual([]);
    expect(await t.deliver([rec(23, true)], c.ctx)).toEqual([present(23, 'F_0008.csv#2')]);
    expect(c.keyReads()).toEqual([10, 9, 8].map((s) => `get ${keysName(s)}`));
    expect(await t.deliver([rec(28, true), rec(24, true)], c.ctx)).toEqual([present(28, 'F_0010.csv#1'), present(24, 'F_0008.csv#3')]);
    expect(c.keyReads()).toHaveLength(3);
    expect(await t.deliver([rec(2, true), rec(99, true)], c.ctx)).toEqual([present(2, 'F_0001.csv#2'), { key: 'form/K99', status: 'held' }]);
    expect(await t.deliver([rec(98, true)], c.ctx)).toEqual([{ key: 'form/K98', status: 'held' }]);
    expect(c.keyReads()).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((s) => `get ${keysName(s)}`));
    expect((await t.flush(c.ctx)).map((o) => o.status === 'delivered' && o.legacyRef)).toEqual(['F_0011.csv#1', 'F_0011.csv#2', 'F_0011.csv#3']);
    expect(await t.deliver([rec(99, true)], c.ctx)).toEqual([present(99, 'F_0011.csv#2')]);
    expect(c.keyReads()).toHaveLength(10);
    await t.close();
  });

  it('reads the keys of files with an answer waiting only, and keeps them once the answer is applied', async () => {
    await publish(12, 3);
    await writeFile(join(dir, 'drop', 'F_0002.csv.ack'), 'D0001A\nD0002RBAD\nD0003A\n');
    const c = counting();
    const t = target();
    await t.connect(c.ctx);
    const [set] = await t.answers(c.ctx);
    expect(set!.results).toEqual([
      { key: 'form/K4', legacyRef: 'F_0002.csv#1', accepted: true },
      { key: 'form/K5', legacyRef: 'F_0002.csv#2', accepted: false, reason: 'BAD' },
      { key: 'form/K6', legacyRef: 'F_0002.csv#3', accepted: true },
    ]);
    expect(c.keyReads()).toEqual([`get ${keysName(2)}`]);
    await t.answered(c.ctx, ['F_0002.csv']);
    expect(await t.reconciliations(c.ctx)).toEqual([]);
    expect(c.keyReads()).toHaveLength(1);
    await t.close();
    const next = target();
    await next.connect(ctx);
    expect(await next.deliver([rec(5, true)], ctx)).toEqual([present(5, 'F_0002.csv#2')]);
  });

  it('reads a journal of the earlier layout (keys inside the entries), and connect moves the keys to their rows', async () => {
    await publish(6, 3);
    await writeFile(join(dir, 'drop', 'F_0001.csv.ack'), 'D0001A\nD0002RBAD\nD0003A\n');
    await toEarlierLayout(1);
    await toEarlierLayout(2, { state: 'pending', pid: deadPid() });
    expect(await state.list('file-drop.keys.')).toEqual([]);
    const expected = [{ file: 'F_0001.csv', ack: 'F_0001.csv.ack', results: [{ key: 'form/K1', record: 1, status: 'accepted' }, { key: 'form/K2', record: 2, status: 'rejected', reason: 'BAD' }, { key: 'form/K3', record: 3, status: 'accepted' }], unanswered: [], problems: [] }];
    expect(await target().reconciliations(ctx)).toEqual(expected);
    const t = target();
    await t.connect(ctx);
    expect((await loadEntries(state)).map((e) => [e.state, e.records, e.keys])).toEqual([['published', 3, undefined], ['published', 3, undefined]]);
    expect((await state.list('file-drop.keys.')).map((r) => JSON.parse(r.value) as string[])).toEqual([['form/K1', 'form/K2', 'form/K3'], ['form/K4', 'form/K5', 'form/K6']]);
    expect(await t.reconciliations(ctx)).toEqual(expected);
    expect(await t.deliver([rec(4), rec(2, true), rec(7, true)], ctx)).toEqual([present(4, 'F_0002.csv#1'), present(2, 'F_0001.csv#2'), { key: 'form/K7', status: 'held' }]);
    await t.close();
  });

  it('keeps no control totals once a file is published, and connect drops those an earlier version kept', async () => {
    await publish(2, 1);
    await state.set(entryName(1), JSON.stringify({ ...(await loadEntries(state))[0], totals: { FEE: '1234.56' } }));
    await state.set(entryName(2), JSON.stringify({ ...(await loadEntries(state))[1], state: 'pending', pid: deadPid(), totals: { FEE: '7.89' } }));
    const t = target();
    await t.connect(ctx);
    await t.close();
    expect((await loadEntries(state)).map((e) => [e.state, e.totals])).toEqual([['published', undefined], ['published', undefined]]);
    const stored = (await state.list('file-drop.')).map((r) => r.value).join('\n');
    expect(stored).not.toContain('1234.56');
    expect(stored).not.toContain('7.89');
  });

  it('after a crash between storing the keys and journalling the file pending, deletes the keys row with the file', async () => {
    const t = target();
    await t.connect(ctx);
    await t.deliver([rec(1), rec(2)], ctx);
    const [open] = await loadEntries(state);
    await state.set(keysName(1), JSON.stringify(['form/K1', 'form/K2']));
    await state.set(entryName(1), JSON.stringify({ ...open, pid: deadPid() }));
    const restarted = target();
    await restarted.connect(ctx);
    expect(await listing()).toEqual([]);
    expect(await loadEntries(state)).toEqual([]);
    expect(await state.list('file-drop.keys.')).toEqual([]);
    expect(await restarted.deliver([rec(1, true)], ctx)).toEqual([{ key: 'form/K1', status: 'held' }]);
    await Promise.all([t.close(), restarted.close()]);
  });

  it('a crash while deleting a finished file that was never renamed leaves its entry open, never pending without its file', async () => {
    const t = target();
    await journalledNotRenamed(t, ctx, state, rec(1));
    const dies: ConnectorState = { ...state, delete: (name) => (name.startsWith('file-drop.keys.') ? Promise.reject(new Error('killed')) : state.delete(name)) };
    await expect(target().connect({ ...ctx, state: dies })).rejects.toMatchObject({ code: 'FILE_DROP_IO' });
    expect(await listing()).toEqual([]);
    expect((await loadEntries(state)).map((e) => e.state)).toEqual(['open']);
    await target().connect(ctx);
    expect(await loadEntries(state)).toEqual([]);
    expect(await state.list('file-drop.keys.')).toEqual([]);
    await t.close();
  });

  it('stops (fatal) when a published file has lost its keys row', async () => {
    await publish(3, 3);
    await state.delete(keysName(1));
    const t = target();
    await t.connect(ctx);
    await expect(t.deliver([rec(1, true)], ctx)).rejects.toMatchObject({ code: 'FILE_DROP_JOURNAL', disposition: 'fatal' });
  });
});
