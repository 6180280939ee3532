import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateStore, type StateStore } from '../store/state-store.js';
import { AuditLog } from '../audit/audit-log.js';
import { Ledger } from '../ledger/ledger.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { loadMapping } from '../../mappings/index.js';
import { FileSource } from '../../connectors/file-inbox/file.source.js';
import type { FileSourceConfig } from '../../connectors/file-inbox/file.config.js';
import { runPass } from './pass.js';
import { testOptions, testPipeline, TestTarget } from './flow.test-helpers.js';

/** A mapping of plain CSV rows with no key: template: rows are keyed by their content unless the source keys them by position. */
const mapping = loadMapping('orders.yaml', 'mapping: orders\nfields:\n  ITEM: { from: item, required: true }\n  QTY: { from: qty }\n').compiled!;

let dir: string;
let store: StateStore;
let ledger: Ledger;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rekey-identical-'));
  store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
  ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
});
afterEach(() => store.close());

/** A pass over `file` with the given source settings; resolves to its result and every log line. */
async function pass(file: string, target: TestTarget, config: Partial<FileSourceConfig> = {}) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(...chunk.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)), done()) });
  const source = new FileSource({ path: file, ...config }, { baseDir: dir, pipeline: 'orders' });
  const result = await runPass(testPipeline(source, target, { name: 'orders', mapping }), ledger, testOptions({ log: pino({ level: 'warn' }, sink) }));
  return { result, lines };
}

describe('identical rows of a plain CSV', () => {
  it('are one submission when keyed by content, and the pass says so once per file, naming file and lines', async () => {
    const file = join(dir, 'orders.csv');
    writeFileSync(file, 'item,qty\nwidget,2\ngadget,1\nwidget,2\nwidget,2\n');
    const { result, lines } = await pass(file, new TestTarget());
    expect(result).toMatchObject({ read: 4, receivedNew: 2, duplicates: 2, delivered: 2 });
    const warned = lines.filter((l) => String(l.msg).includes('identical to an earlier one'));
    expect(warned.map((l) => [l.file, l.at, l.same])).toEqual([['orders.csv', '4', 'orders.csv:2']]);
    expect(String(warned[0]?.msg)).toContain('set keyBy: position on the source');
    expect(JSON.stringify(lines)).not.toContain('widget');
  });

  it('are each a submission with keyBy: position, and the same file read again is keyed alike', async () => {
    const file = join(dir, 'orders.csv');
    writeFileSync(file, 'item,qty\nwidget,2\ngadget,1\nwidget,2\n');
    const target = new TestTarget();
    const first = await pass(file, target, { keyBy: 'position' });
    expect(first.result).toMatchObject({ read: 3, receivedNew: 3, duplicates: 0, delivered: 3 });
    expect(first.lines.filter((l) => String(l.msg).includes('identical'))).toEqual([]);
    const keys = [...target.rows.keys()];
    expect(keys).toHaveLength(3);
    expect(keys.every((k) => /^orders\.csv@[0-9a-f]{16}:[234]$/.test(k))).toBe(true);
    const again = await pass(file, target, { keyBy: 'position' });
    expect(again.result).toMatchObject({ read: 3, receivedNew: 0, duplicates: 3, delivered: 0 });
    expect(target.calls).toHaveLength(3);
    // Another file of the same name (the next day's) is other submissions, even where its rows match.
    writeFileSync(file, 'item,qty\nwidget,2\nbolt,9\n');
    const next = await pass(file, target, { keyBy: 'position' });
    expect(next.result).toMatchObject({ read: 2, receivedNew: 2, delivered: 2 });
  });
});
