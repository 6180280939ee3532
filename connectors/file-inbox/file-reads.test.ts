import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { submission, TEST_PII_KEY, testOptions, testPipeline, TestTarget } from '../../pipelines/flow/flow.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { mappingOptions } from '../../runner/commands/run.command.js';
import { fileSource } from './file.source.js';

let dir: string;
let store: StateStore;
let ledger: Ledger;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rekey-file-reads-'));
  store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
  ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const line = (ref: string) => `${JSON.stringify(submission(ref))}\n`;
const auditEvents = async () => (await store.select<{ event: string }>('SELECT event FROM audit_log ORDER BY seq')).map((r) => r.event);

/** Log lines as objects, written by a real pino logger. */
function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  return { log, lines };
}

describe.each([
  ['record by record', false],
  ['in NDJSON chunks', true],
])('file source in rekey serve (%s): an unchanged file is not read again', (_label, chunked) => {
  const pass = (target: TestTarget, over: Parameters<typeof testOptions>[0] = {}) => {
    const p = testPipeline(fileSource.create({ path: './in.ndjson' }, { baseDir: dir, pipeline: 'flow-test' }), target);
    return runPass(p, ledger, testOptions({ skipUnchanged: true, retryWaitMs: 0, ...(chunked && mappingOptions(undefined, p.mapping, TEST_PII_KEY)), ...over }));
  };

  it('skips it with one log line and no entry but the run’s own, then reads an appended record and delivers it', async () => {
    writeFileSync(join(dir, 'in.ndjson'), line('AA2BB3CC') + line('DD4EE5FF'));
    const target = new TestTarget();
    expect(await pass(target)).toMatchObject({ read: 2, receivedNew: 2, delivered: 2 });
    const entries = (await auditEvents()).length;

    const { log, lines } = capturedLog();
    expect(await pass(target, { log })).toMatchObject({ read: 0, receivedNew: 0, duplicates: 0, delivered: 0 });
    expect((await auditEvents()).slice(entries)).toEqual(['run-started', 'run-finished']);
    expect(lines.filter((l) => String(l.msg).includes('unchanged'))).toHaveLength(1);

    appendFileSync(join(dir, 'in.ndjson'), line('GG6HH7JJ'));
    expect(await pass(target)).toMatchObject({ read: 3, receivedNew: 1, duplicates: 2, delivered: 1 });
    expect([...target.rows.keys()]).toEqual(['F/AA2BB3CC', 'F/DD4EE5FF', 'F/GG6HH7JJ']);
    expect(await pass(target)).toMatchObject({ read: 0 });
  });

  it('reads a file rewritten in place with the same size and time', async () => {
    const file = join(dir, 'in.ndjson');
    writeFileSync(file, line('AA2BB3CC'));
    const target = new TestTarget();
    await pass(target);
    const before = statSync(file);
    writeFileSync(file, line('DD4EE5FF'));
    utimesSync(file, before.atime, before.mtime);
    expect(statSync(file).size).toBe(before.size);
    expect(await pass(target)).toMatchObject({ read: 1, receivedNew: 1, delivered: 1 });
  });

  it('reads the whole file again after a pass stopped part-way', async () => {
    writeFileSync(join(dir, 'in.ndjson'), ['AA2BB3CC', 'DD4EE5FF', 'GG6HH7JJ', 'KK8LL9MM'].map(line).join(''));
    const stop = new AbortController();
    stop.abort();
    await pass(new TestTarget(), { signal: stop.signal });
    const target = new TestTarget();
    expect(await pass(target)).toMatchObject({ read: 4, receivedNew: 4, delivered: 4 });
  });

  it('in a folder, skips the files read before and reads a new one', async () => {
    mkdirSync(join(dir, 'in'));
    writeFileSync(join(dir, 'in', 'a.ndjson'), line('AA2BB3CC'));
    const target = new TestTarget();
    const folder = (over: Parameters<typeof testOptions>[0] = {}) => {
      const p = testPipeline(fileSource.create({ path: './in' }, { baseDir: dir, pipeline: 'flow-test' }), target);
      return runPass(p, ledger, testOptions({ skipUnchanged: true, retryWaitMs: 0, ...(chunked && mappingOptions(undefined, p.mapping, TEST_PII_KEY)), ...over }));
    };
    await folder();
    writeFileSync(join(dir, 'in', 'b.ndjson'), line('DD4EE5FF'));
    const { log, lines } = capturedLog();
    expect(await folder({ log })).toMatchObject({ read: 1, receivedNew: 1, duplicates: 0, delivered: 1 });
    expect(lines.filter((l) => String(l.msg).includes('unchanged')).map((l) => l.file)).toEqual([join(dir, 'in', 'a.ndjson')]);
    expect(await folder()).toMatchObject({ read: 0 });
  });

  it('without skipUnchanged (rekey run) reads it every time', async () => {
    writeFileSync(join(dir, 'in.ndjson'), line('AA2BB3CC'));
    const target = new TestTarget();
    await pass(target, { skipUnchanged: false });
    await pass(target);
    expect(await pass(target, { skipUnchanged: false })).toMatchObject({ read: 1, duplicates: 1 });
  });
});
