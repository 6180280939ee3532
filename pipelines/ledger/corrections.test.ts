/**
 * Correct and resubmit, end to end: a real SQLite legacy table whose CHECK
 * refuses a mapped value, the submission rejected with the legacy reason,
 * an operator's correction (checked against the mapping, refused with
 * exact errors that change nothing), the next pass delivering it once
 * under the same key, the audit log saying what happened in keyed hashes
 * only, and neither value in clear in the state store, the log or the
 * audit log; erasure removes the correction with the body.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import sqlite3 from 'sqlite3';
import { loadMapping, type CompiledMapping } from '../../mappings/index.js';
import { sqliteTarget } from '../../connectors/sql/sqlite.target.js';
import { piiHash } from '../audit/pii.js';
import { checkSentValue } from '../audit/sent-check.js';
import { loadStory } from '../audit/story.js';
import { runPass } from '../flow/pass.js';
import { arraySource, TEST_PII_KEY, testOptions, testPipeline, TestTarget } from '../flow/flow.test-helpers.js';
import { eraseSubmission } from '../privacy/erase.js';
import { rotateKeys } from '../privacy/rotate.js';
import { KeyRing } from '../../lib/envelope.js';
import { TEST_DATA_KEY } from '../../lib/envelope.test-helpers.js';
import { Ledger } from './ledger.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { pipelineNames, useTestLedger } from './ledger.test-helpers.js';
import type { Corrections } from './ledger.types.js';
import { CORRECTED_SURNAME as CORRECTED, CORRECTIONS_MAPPING, correctionsSubmission as body, ORIGINAL_SURNAME as ORIGINAL } from './corrections.test-helpers.js';
import { formatHistory } from '../../runner/commands/show.text.js';

const SETUP = 'CREATE TABLE CASES (ID INTEGER PRIMARY KEY AUTOINCREMENT, SUB_KEY TEXT NOT NULL UNIQUE, REF TEXT, SURNAME TEXT NOT NULL CHECK (SURNAME = upper(SURNAME)), TITLE TEXT);\nCREATE TABLE PREVS (ID INTEGER PRIMARY KEY AUTOINCREMENT, CASE_ID INTEGER NOT NULL, PC TEXT);\n';

function query(path: string, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((ok, ko) => {
    const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (e) => {
      if (e) return ko(e);
      db.all(sql, (err, rows) => db.close(() => (err ? ko(err) : ok(rows as Record<string, unknown>[]))));
    });
  });
}

/** A logger at debug level into a string, to search what was logged. */
function capturedLog(): { log: pino.Logger; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), text: () => text };
}

describe.each(TEST_DIALECTS)('correct and resubmit, on %s', (dialect) => {
  const env = useTestLedger(dialect);
  const next = pipelineNames();
  const hash = (v: unknown) => piiHash(v, TEST_PII_KEY);
  let dir: string;
  let mapping: CompiledMapping;
  const opts = () => ({ mapping, piiHash: hash });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rekey-corrections-'));
    await writeFile(join(dir, 'setup.sql'), SETUP);
    mapping = loadMapping('corrections.yaml', CORRECTIONS_MAPPING).compiled!;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** What a refused call must leave as it was: the row, the history, the stored corrections. */
  async function snapshot(name: string, key: string) {
    const [stored] = await env.ts.store.select<{ corrections: string | null }>('SELECT b.corrections FROM ledger l JOIN ledger_bodies b ON b.id = l.id WHERE l.pipeline = $1 AND l.key = $2', [name, key]);
    return { row: await env.ledger.get(name, key, { body: false }), history: (await env.ledger.history(name, key)).length, corrections: stored?.corrections ?? null };
  }

  it('delivers a value the legacy table refused, corrected, once under the same key, and says so in keyed hashes only', async () => {
    const name = next();
    const legacy = `legacy-${name}.sqlite`;
    const target = () => sqliteTarget.create({ path: legacy, table: 'CASES', keyColumn: 'SUB_KEY', setupSql: 'setup.sql', columns: {}, children: { PREV: { table: 'PREVS', parentColumn: 'CASE_ID' } } }, { baseDir: dir, pipeline: name });
    const logged = capturedLog();
    const source = arraySource([body('A1', ORIGINAL), body('B2', 'SMITH')]);
    const first = await runPass(testPipeline(source, target(), { name, mapping, targetName: 'sqlite' }), env.ledger, testOptions({ log: logged.log }));
    expect((await env.ledger.get(name, 'F/B2', { body: false }))?.lastError).toBeNull();
    expect(first).toMatchObject({ delivered: 1, rejected: 1 });
    const refused = await env.ledger.get(name, 'F/A1', { body: false });
    expect(refused).toMatchObject({ state: 'rejected', lastError: { code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record (code SQLITE_CONSTRAINT, field SURNAME)', field: 'SURNAME' } });

    const before = await snapshot(name, 'F/A1');
    const refusals: [Corrections, string, string][] = [
      [{ NOPE: 'X' }, 'CORRECTION_UNKNOWN_FIELD', 'cannot correct NOPE: the mapping has no such field'],
      [{ 'PREV.PC': 'LS1 1AA' }, 'CORRECTION_UNKNOWN_FIELD', 'cannot correct PREV.PC: the mapping has no such field (name the child row: GROUP[n].FIELD, n from 1)'],
      [{ 'NOPE[1].PC': 'LS1 1AA' }, 'CORRECTION_UNKNOWN_FIELD', 'cannot correct NOPE[1].PC: the mapping has no group NOPE (groups: PREV)'],
      [{ 'PREV[3].PC': 'LS1 1AA' }, 'CORRECTION_UNKNOWN_FIELD', 'cannot correct PREV[3].PC: the submission has 2 PREV row(s)'],
      [{ SURNAME: '' }, 'CORRECTION_INVALID', 'cannot correct SURNAME: required: is required but was not given'],
      [{ SURNAME: null }, 'CORRECTION_INVALID', 'cannot correct SURNAME: required: is required but was not given'],
      [{ SURNAME: 'QWYXZELBORNEQWYXZELBORNE' }, 'CORRECTION_INVALID', 'cannot correct SURNAME: length: must be at most 20 characters (got 24)'],
      [{ TITLE: 'LORD' }, 'CORRECTION_INVALID', 'cannot correct TITLE: enum: must be one of MR, MRS, MS, DR'],
      [{ 'PREV[1].PC': 'nowhere' }, 'CORRECTION_INVALID', 'cannot correct PREV[1].PC: pattern: must match ^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$'],
      [{ SURNAME: CORRECTED, NOPE: 'X' }, 'CORRECTION_UNKNOWN_FIELD', 'cannot correct NOPE: the mapping has no such field'],
      [{}, 'LEDGER_BAD_REQUEST', 'a correction needs at least one FIELD=VALUE'],
    ];
    for (const [corrections, code, message] of refusals) {
      await expect(env.ledger.correct(name, 'F/A1', corrections, 'legacy wants upper case', 'operator:alice', opts())).rejects.toMatchObject({ code, message });
    }
    await expect(env.ledger.correct(name, 'F/A1', { SURNAME: CORRECTED }, '  ', 'operator:alice', opts())).rejects.toMatchObject({ code: 'LEDGER_BAD_REQUEST', message: 'correcting needs a reason' });
    await expect(env.ledger.correct(name, 'F/B2', { SURNAME: CORRECTED }, 'why not', 'operator:alice', opts())).rejects.toMatchObject({
      code: 'LEDGER_ACTION_REFUSED',
      message: 'submission "F/B2" cannot move from delivered to received',
    });
    await expect(env.ledger.correct(name, 'F/ZZ', { SURNAME: CORRECTED }, 'why not', 'operator:alice', opts())).rejects.toMatchObject({ code: 'LEDGER_UNKNOWN_KEY' });
    expect(await snapshot(name, 'F/A1')).toEqual(before);
    expect(before.corrections).toBeNull();

    const done = await env.ledger.correct(name, 'F/A1', { SURNAME: CORRECTED }, 'legacy wants upper case', 'operator:alice', opts());
    expect(done).toEqual({ key: 'F/A1', from: 'rejected', fields: ['SURNAME'], originalFrom: 'mapping' });
    expect(await env.ledger.get(name, 'F/A1', { body: false })).toMatchObject({ state: 'received', attempts: 0, lastError: null });
    await expect(env.ledger.correct(name, 'F/A1', { SURNAME: CORRECTED }, 'again', 'operator:alice', opts())).rejects.toMatchObject({ code: 'LEDGER_ACTION_REFUSED' });

    const second = await runPass(testPipeline(source, target(), { name, mapping, targetName: 'sqlite' }), env.ledger, testOptions({ log: logged.log }));
    expect(second).toMatchObject({ delivered: 1, rejected: 0, duplicates: 2 });
    const third = await runPass(testPipeline(source, target(), { name, mapping, targetName: 'sqlite' }), env.ledger, testOptions({ log: logged.log }));
    expect(third).toMatchObject({ delivered: 0, rejected: 0 });
    expect(await query(join(dir, legacy), "SELECT SUB_KEY, SURNAME FROM CASES WHERE SUB_KEY = 'F/A1'")).toEqual([{ SUB_KEY: 'F/A1', SURNAME: CORRECTED }]);
    expect((await env.ledger.sentRecord(name, 'F/A1'))?.record).toMatchObject({ SURNAME: CORRECTED });

    const history = await env.ledger.history(name, 'F/A1');
    expect(history.map((e) => e.event)).toEqual(['received', 'delivering', 'rejected', 'corrected', 'duplicate', 'delivering', 'delivered', 'duplicate']);
    const corrected = history.find((e) => e.event === 'corrected')!;
    expect(corrected).toMatchObject({ actor: 'operator:alice', detail: { reason: 'legacy wants upper case', keys: ['F/A1'] } });
    expect(corrected.detail.records).toEqual([
      { key: 'F/A1', from: 'rejected', fields: ['SURNAME'], original: { SURNAME: hash(ORIGINAL) }, corrected: { SURNAME: hash(CORRECTED) }, originalFrom: 'mapping' },
    ]);
    const delivered = history.find((e) => e.event === 'delivered')!;
    expect(delivered.detail.records?.[0]?.sent?.fields.SURNAME).toBe(hash(CORRECTED));
    expect(checkSentValue(history, 'F/A1', 'SURNAME', CORRECTED, TEST_PII_KEY).match).toBe(true);
    expect(checkSentValue(history, 'F/A1', 'SURNAME', ORIGINAL, TEST_PII_KEY).match).toBe(false);

    const story = (await loadStory(env.ts.store, env.audit, name, 'F/A1'))!;
    const text = formatHistory(story);
    expect(text).toContain('corrected by an operator and sent back to received (dlq correct)');
    expect(text).toContain('fields corrected SURNAME');
    expect(text).toContain('reason: legacy wants upper case');
    expect(text).toContain('operator:alice');

    for (const canary of [ORIGINAL, CORRECTED]) {
      expect(JSON.stringify(history)).not.toContain(canary);
      expect(text).not.toContain(canary);
      expect(logged.text()).not.toContain(canary);
    }
    if (dialect === 'sqlite') {
      const file = env.ts.url.slice('sqlite:'.length);
      await env.ts.store.select('PRAGMA wal_checkpoint(TRUNCATE)');
      for (const f of [file, `${file}-wal`]) {
        if (!existsSync(f)) continue;
        const bytes = await readFile(f);
        for (const canary of [ORIGINAL, CORRECTED]) expect(bytes.includes(Buffer.from(canary)), `${canary} in ${f}`).toBe(false);
      }
    } else {
      const rows = await env.ts.store.select<Record<string, unknown>>('SELECT b.* FROM ledger_bodies b JOIN ledger l ON l.id = b.id WHERE l.pipeline = $1', [name]);
      for (const canary of [ORIGINAL, CORRECTED]) expect(JSON.stringify(rows)).not.toContain(canary);
    }

    const idOf = async () => (await env.ts.store.select<{ id: number | string }>('SELECT id FROM ledger WHERE pipeline = $1 AND key = $2', [name, 'F/A1']))[0]!.id;
    const id = await idOf();
    const held = await env.ts.store.select<{ corrections: string | null }>('SELECT corrections FROM ledger_bodies WHERE id = $1', [id]);
    expect(held[0]?.corrections).toMatch(/^[A-Za-z0-9+/=]+$/);
    await eraseSubmission(env.ts.store, env.audit, name, 'F/A1', { reason: 'citizen asked', actor: 'operator:bob' });
    expect(await env.ts.store.select('SELECT id FROM ledger_bodies WHERE id = $1', [id])).toEqual([]);
  });

  it('corrects a child row of a dead submission, from the body as mapped; the correction outlives a key rotation and a replay', async () => {
    const name = next();
    const target = new TestTarget({ 'F/G1': { failTimes: 1 } });
    const source = arraySource([body('G1', 'NG')]);
    const p = () => testPipeline(source, target, { name, mapping, maxAttempts: 1 });
    expect(await runPass(p(), env.ledger, testOptions({ retryWaitMs: 0 }))).toMatchObject({ dead: 1 });
    const first = await env.ledger.correct(name, 'F/G1', { 'PREV[2].PC': 'YO1 7HX' }, 'typo in the postcode', 'operator:carol', opts());
    expect(first).toEqual({ key: 'F/G1', from: 'dead', fields: ['PREV[2].PC'], originalFrom: 'mapping' });
    // A key rotation re-wraps the one data key: the corrections still open, under the new key only.
    const kek = randomBytes(32);
    await rotateKeys(env.ts.store, env.audit, new KeyRing(kek, [Buffer.from(TEST_DATA_KEY, 'hex')]), 'operator:carol');
    const ledger = new Ledger(env.ts.store, env.audit, new KeyRing(kek));
    expect(await runPass(p(), ledger, testOptions({ retryWaitMs: 0 }))).toMatchObject({ delivered: 1 });
    expect(await ledger.sentRecord(name, 'F/G1')).toMatchObject({ children: { PREV: [{ PC: 'LS1 1AA' }, { PC: 'YO1 7HX' }] } });
    const history = await ledger.history(name, 'F/G1');
    expect(history.find((e) => e.event === 'corrected')?.detail.records?.[0]).toMatchObject({ original: { 'PREV[2].PC': hash('YO1 7HH') }, corrected: { 'PREV[2].PC': hash('YO1 7HX') } });
    expect(history.find((e) => e.event === 'delivered')?.detail.records?.[0]?.sent?.fields['PREV.PC']).toEqual([hash('LS1 1AA'), hash('YO1 7HX')]);

    await ledger.replay(name, 'F/G1', 'operator:carol');
    expect(await runPass(p(), ledger, testOptions({ retryWaitMs: 0 }))).toMatchObject({ delivered: 1 });
    expect(await ledger.sentRecord(name, 'F/G1')).toMatchObject({ children: { PREV: [{ PC: 'LS1 1AA' }, { PC: 'YO1 7HX' }] } });
    await expect(ledger.correct(name, 'F/G1', { TITLE: 'DR' }, 'late', 'operator:carol', opts())).rejects.toMatchObject({ code: 'LEDGER_ACTION_REFUSED' });
    // The legacy system's answer refuses it afterwards: dead, and the values before come from the record as sent.
    await ledger.reconcile(name, null, [{ key: 'F/G1', accepted: false, reason: 'title not allowed' }], 'runner:test:1');
    expect((await ledger.get(name, 'F/G1', { body: false }))?.state).toBe('dead');
    expect(await ledger.correct(name, 'F/G1', { TITLE: 'DR' }, 'legacy wants DR', 'operator:carol', opts())).toEqual({ key: 'F/G1', from: 'dead', fields: ['TITLE'], originalFrom: 'sent' });
    const last = (await ledger.history(name, 'F/G1')).at(-1)!;
    expect(last).toMatchObject({ event: 'corrected', detail: { reason: 'legacy wants DR', records: [{ from: 'dead', original: { TITLE: hash('MR') }, corrected: { TITLE: hash('DR') }, originalFrom: 'sent' }] } });
    expect(await runPass(p(), ledger, testOptions({ retryWaitMs: 0 }))).toMatchObject({ delivered: 1 });
    expect(await ledger.sentRecord(name, 'F/G1')).toMatchObject({ record: { TITLE: 'DR' }, children: { PREV: [{ PC: 'LS1 1AA' }, { PC: 'YO1 7HX' }] } });
  });

  it('refuses a submission its mapping rejects: the refused value is a form value', async () => {
    const name = next();
    const source = arraySource([body('M1', 'NG', ['nowhere'])]);
    expect(await runPass(testPipeline(source, new TestTarget(), { name, mapping }), env.ledger, testOptions())).toMatchObject({ rejected: 1 });
    await expect(env.ledger.correct(name, 'F/M1', { 'PREV[1].PC': 'LS1 1AA' }, 'fix', 'operator:alice', opts())).rejects.toMatchObject({
      code: 'CORRECTION_INVALID',
      message: 'cannot correct "F/M1" of pipeline ' + name + ': its mapping refuses it (PREV[1].PC: pattern); a value the mapping refused is a form value: fix the mapping and replay it',
    });
    expect((await env.ledger.get(name, 'F/M1', { body: false }))?.state).toBe('rejected');
    await eraseSubmission(env.ts.store, env.audit, name, 'F/M1', { reason: 'citizen asked', actor: 'operator:bob' });
    await expect(env.ledger.correct(name, 'F/M1', { SURNAME: 'NG' }, 'fix', 'operator:alice', opts())).rejects.toMatchObject({ code: 'SUBMISSION_ERASED' });
  });
});
