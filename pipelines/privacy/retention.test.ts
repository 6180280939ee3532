import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditLog } from '../audit/audit-log.js';
import { ERR, PATH, pipelineNames, sub, useTestLedger } from '../ledger/ledger.test-helpers.js';
import type { Ledger } from '../ledger/ledger.js';
import type { LedgerState, Transition } from '../ledger/ledger.types.js';
import { PipelineCodes } from '../pipeline.errors.js';
import { readInt } from '../store/sql.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { eraseSubmission } from './erase.js';
import { purgePipeline } from './purge.js';
import { DEFAULT_RETENTION, type RetentionPolicy } from './retention.js';

const RUNNER = 'runner:test:1';
const DAY = 86_400_000;
const NOW = new Date('2026-06-01T12:00:00.000Z');
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);


async function collect(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const c of chunks) out += c;
  return out;
}

const POLICY: RetentionPolicy = { bodiesMs: 30 * DAY, evidenceMs: 90 * DAY, inboxDoneMs: 30 * DAY, inboxQuarantineMs: 90 * DAY, ledgerMs: 365 * DAY };

describe.each(TEST_DIALECTS)('retention purge and erasure on %s', (dialect) => {
  const env = useTestLedger(dialect);
  let ledger: Ledger;
  let audit: AuditLog;
  const fresh = pipelineNames();
  const dir = mkdtempSync(join(tmpdir(), 'rekey-retention-'));
  beforeAll(() => void ({ ledger, audit } = env));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const store = () => env.ts.store;
  const at = (d: Date) => (dialect === 'postgres' ? d : d.toISOString());
  const n = async (sql: string, params: unknown[] = []) => readInt((await store().select<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${sql}`, params))[0]?.n);

  /** Puts `key` of `p` in `state`, last moved `days` ago. */
  async function put(p: string, key: string, state: LedgerState, days: number, body: unknown = { ref: key }): Promise<void> {
    await ledger.receive(p, null, [sub(key, `sha256:${key}`, body)], RUNNER);
    for (const to of PATH[state]) {
      const t: Transition = { key, to, ...(to === 'failed' || to === 'dead' ? { error: ERR } : {}), ...(to === 'delivered' ? { legacyRef: `REF-${key}` } : {}) };
      if (to === 'discarded') await ledger.discard(p, key, 'sent on paper', 'operator:test');
      else await ledger.apply(p, null, [t], RUNNER);
    }
    await store().exec('UPDATE ledger SET updated_at = $3, created_at = $3 WHERE pipeline = $1 AND key = $2', [p, key, at(ago(days))]);
  }

  async function file(p: string, name: string, kind: 'evidence' | 'inbox-done' | 'inbox-quarantine', days: number, subject?: string): Promise<string> {
    const path = join(dir, `${p}-${name}`);
    await ledger.sealedFiles(p).write(path, Buffer.from(`contents of ${name}`), { kind, ...(subject ? { subject } : {}) });
    await store().exec('UPDATE sealed_files SET created_at = $3 WHERE pipeline = $1 AND path = $2', [p, path, at(ago(days))]);
    return path;
  }

  async function conflict(p: string, key: string, days: number): Promise<void> {
    await ledger.receive(p, null, [sub(key, `sha256:other-${key}`)], RUNNER);
    await store().exec('UPDATE ledger_conflicts SET received_at = $3 WHERE pipeline = $1 AND key = $2', [p, key, at(ago(days))]);
  }

  const bodyOf = async (p: string, key: string) => n('ledger_bodies b JOIN ledger l ON l.id = b.id WHERE l.pipeline = $1 AND l.key = $2', [p, key]);
  const purgedEntries = async (p: string) => collect(audit.export({ format: 'json', pipeline: p }));

  /** A pipeline with one submission in each state, bodies old and new, conflicts and files of each kind old and new. */
  async function scene(p: string) {
    await put(p, 'del-old', 'delivered', 31);
    await put(p, 'del-new', 'delivered', 29);
    await put(p, 'rej-old', 'rejected', 40);
    await put(p, 'dead-old', 'dead', 40);
    await put(p, 'disc-old', 'discarded', 40);
    await put(p, 'fail-old', 'failed', 400);
    await put(p, 'recv-old', 'received', 400);
    await put(p, 'del-ancient', 'delivered', 366);
    await conflict(p, 'del-new', 31);
    await conflict(p, 'rej-old', 1);
    return {
      evOld: await file(p, 'ev-old.png', 'evidence', 91, 'del-old'),
      evNew: await file(p, 'ev-new.png', 'evidence', 89, 'del-new'),
      doneOld: await file(p, 'done-old.csv', 'inbox-done', 31),
      doneNew: await file(p, 'done-new.csv', 'inbox-done', 29),
      qOld: await file(p, 'q-old.csv', 'inbox-quarantine', 91),
      qNew: await file(p, 'q-new.csv', 'inbox-quarantine', 89),
    };
  }

  it('a dry run counts what is past retention and changes nothing', async () => {
    const p = fresh();
    const files = await scene(p);
    const before = { head: await audit.head(), bodies: await n('ledger_bodies'), rows: await n('ledger'), files: await n('sealed_files'), conflicts: await n('ledger_conflicts') };
    const counts = await purgePipeline(store(), audit, p, POLICY, { actor: 'operator:alice', now: NOW, dryRun: true });
    expect(Object.fromEntries(counts.map((c) => [c.kind, c.count]))).toEqual({ bodies: 5, conflicts: 1, evidence: 1, 'inbox-done': 1, 'inbox-quarantine': 1, ledger: 1 });
    expect(counts.find((c) => c.kind === 'bodies')?.upTo).toBe(ago(30).toISOString());
    expect(counts.find((c) => c.kind === 'ledger')?.upTo).toBe(ago(365).toISOString());
    const after = { head: await audit.head(), bodies: await n('ledger_bodies'), rows: await n('ledger'), files: await n('sealed_files'), conflicts: await n('ledger_conflicts') };
    expect(after).toEqual(before);
    for (const f of Object.values(files)) expect(existsSync(f)).toBe(true);
  });

  it('purges exactly what is past retention, audits one entry per kind, and the chain and the history still hold', async () => {
    const p = fresh();
    const files = await scene(p);
    const ancientHistory = (await ledger.history(p, 'del-ancient')).map((e) => e.seq);
    expect(ancientHistory.length).toBe(3);
    const head = await audit.head();
    const counts = await purgePipeline(store(), audit, p, POLICY, { actor: 'operator:alice', now: NOW });
    expect(Object.fromEntries(counts.map((c) => [c.kind, c.count]))).toEqual({ bodies: 5, conflicts: 1, evidence: 1, 'inbox-done': 1, 'inbox-quarantine': 1, ledger: 1 });

    for (const key of ['del-old', 'rej-old', 'dead-old', 'disc-old']) expect(await bodyOf(p, key), key).toBe(0);
    for (const key of ['del-new', 'fail-old', 'recv-old']) expect(await bodyOf(p, key), key).toBe(1);
    expect((await ledger.get(p, 'del-old'))?.state).toBe('delivered');
    expect(await ledger.get(p, 'del-ancient')).toBeNull();
    expect((await ledger.conflicts(p)).map((c) => c.key)).toEqual(['rej-old']);
    expect([files.evOld, files.doneOld, files.qOld].map(existsSync)).toEqual([false, false, false]);
    expect([files.evNew, files.doneNew, files.qNew].map(existsSync)).toEqual([true, true, true]);
    expect(await n('sealed_files WHERE pipeline = $1', [p])).toBe(3);

    const entries = await collect(audit.export({ format: 'json', from: head.seq + 1 }));
    const purged = (JSON.parse(entries) as { event: string; actor: string; pipeline: string; detail: unknown }[]).filter((e) => e.pipeline === p);
    expect(purged.map((e) => [e.event, e.actor])).toEqual(Array(6).fill(['purged', 'operator:alice']));
    expect(purged.map((e) => e.detail)).toEqual([
      { keys: [], kind: 'bodies', count: 5, upTo: ago(30).toISOString() },
      { keys: [], kind: 'conflicts', count: 1, upTo: ago(30).toISOString() },
      { keys: [], kind: 'evidence', count: 1, upTo: ago(90).toISOString() },
      { keys: [], kind: 'inbox-done', count: 1, upTo: ago(30).toISOString() },
      { keys: [], kind: 'inbox-quarantine', count: 1, upTo: ago(90).toISOString() },
      { keys: [], kind: 'ledger', count: 1, upTo: ago(365).toISOString() },
    ]);
    expect(await audit.verify()).toMatchObject({ ok: true });
    expect((await ledger.history(p, 'del-ancient')).map((e) => e.seq)).toEqual(ancientHistory);
    expect(await purgedEntries(p)).toContain('"REF-del-ancient"');

    const again = await purgePipeline(store(), audit, p, POLICY, { actor: 'operator:alice', now: NOW });
    expect(again.every((c) => c.count === 0)).toBe(true);
    expect((await audit.head()).seq).toBe(head.seq + 6);
  });

  it('a key sent again after its row was purged is new, and its history holds both lives', async () => {
    const p = fresh();
    await put(p, 'k', 'delivered', 800);
    await purgePipeline(store(), audit, p, DEFAULT_RETENTION, { actor: RUNNER, now: NOW });
    expect(await ledger.receive(p, null, [sub('k')], RUNNER)).toEqual(['new']);
    expect((await ledger.history(p, 'k')).map((e) => e.event)).toEqual(['received', 'delivering', 'delivered', 'received']);
  });

  it('retry and replay of a purged submission say BODY_PURGED and change nothing', async () => {
    const p = fresh();
    await put(p, 'dead', 'dead', 31);
    await put(p, 'done', 'delivered', 31);
    await purgePipeline(store(), audit, p, POLICY, { actor: RUNNER, now: NOW });
    const head = await audit.head();
    await expect(ledger.retry(p, 'dead', 'operator:bob')).rejects.toMatchObject({
      code: PipelineCodes.BODY_PURGED.code,
      message: `cannot retry "dead" of pipeline ${p}: its body was purged by the retention policy`,
    });
    await expect(ledger.replay(p, 'done', 'operator:bob')).rejects.toMatchObject({
      code: PipelineCodes.BODY_PURGED.code,
      message: `cannot replay "done" of pipeline ${p}: its body was purged by the retention policy`,
    });
    expect((await ledger.get(p, 'dead'))?.state).toBe('dead');
    expect((await ledger.get(p, 'done'))?.state).toBe('delivered');
    expect(await audit.head()).toEqual(head);
  });

  it('erase shreds the body, conflicts and files, keeps the row and trail, and audits operator and reason', async () => {
    const p = fresh();
    await put(p, 'k', 'delivered', 1, { surname: 'Canary-Erase-7f3a' });
    await put(p, 'other', 'delivered', 1);
    await conflict(p, 'k', 0);
    const ev = await file(p, 'k.png', 'evidence', 0, 'k');
    const keep = await file(p, 'other.png', 'evidence', 0, 'other');
    const id = (await store().select<{ id: number | string }>('SELECT id FROM ledger WHERE pipeline = $1 AND key = $2', [p, 'k']))[0]!.id;

    const done = await eraseSubmission(store(), audit, p, 'k', { reason: 'SAR-2026-0042', actor: 'operator:alice', now: NOW });
    expect(done).toEqual({ pipeline: p, key: 'k', erasedAt: NOW.toISOString(), bodies: 1, conflicts: 1, files: 1 });
    expect(await n('ledger_bodies WHERE id = $1', [id])).toBe(0);
    expect(await n('ledger_conflicts WHERE pipeline = $1 AND key = $2', [p, 'k'])).toBe(0);
    expect(await n('sealed_files WHERE pipeline = $1 AND subject = $2', [p, 'k'])).toBe(0);
    expect(existsSync(ev)).toBe(false);
    expect(existsSync(keep)).toBe(true);
    expect(await bodyOf(p, 'other')).toBe(1);
    const row = await ledger.get(p, 'k');
    expect(row).toMatchObject({ state: 'delivered', legacyRef: 'REF-k', body: null });
    const history = await ledger.history(p, 'k');
    expect(history.map((e) => e.event)).toEqual(['received', 'delivering', 'delivered', 'conflict', 'erased']);
    expect(history.at(-1)).toMatchObject({ actor: 'operator:alice', detail: { keys: ['k'], reason: 'SAR-2026-0042', removed: { bodies: 1, conflicts: 1, files: 1 } } });
    expect(await audit.verify()).toMatchObject({ ok: true });
    if (dialect === 'sqlite') {
      expect(await store().select('PRAGMA secure_delete')).toEqual([{ secure_delete: 1 }]);
      const path = env.ts.url.slice('sqlite:'.length);
      const raw = Buffer.concat([readFileSync(path), ...(existsSync(`${path}-wal`) ? [readFileSync(`${path}-wal`)] : [])]);
      expect(raw.includes('Canary-Erase-7f3a')).toBe(false);
    }

    const head = await audit.head();
    await expect(eraseSubmission(store(), audit, p, 'k', { reason: 'again', actor: 'operator:alice' })).rejects.toMatchObject({
      code: PipelineCodes.SUBMISSION_ERASED.code,
      message: `"k" of pipeline ${p} was already erased at ${NOW.toISOString()}: there is nothing left to erase`,
    });
    await expect(ledger.replay(p, 'k', 'operator:bob')).rejects.toMatchObject({
      code: PipelineCodes.SUBMISSION_ERASED.code,
      message: `cannot replay "k" of pipeline ${p}: it was erased at ${NOW.toISOString()} (right to erasure)`,
    });
    expect(await audit.head()).toEqual(head);
    expect((await ledger.get(p, 'k'))?.state).toBe('delivered');
  });

  it('an erased dead letter cannot be retried; erase refuses a submission on its way, an unknown key, and no reason', async () => {
    const p = fresh();
    await put(p, 'dead', 'dead', 1);
    await put(p, 'failing', 'failed', 1);
    await eraseSubmission(store(), audit, p, 'dead', { reason: 'SAR-1', actor: 'operator:alice', now: NOW });
    const head = await audit.head();
    await expect(ledger.retry(p, ['dead'], 'operator:bob')).rejects.toMatchObject({
      code: PipelineCodes.SUBMISSION_ERASED.code,
      message: `cannot retry "dead" of pipeline ${p}: it was erased at ${NOW.toISOString()} (right to erasure)`,
    });
    expect((await ledger.get(p, 'dead'))?.state).toBe('dead');
    await expect(eraseSubmission(store(), audit, p, 'failing', { reason: 'SAR-2', actor: 'operator:alice' })).rejects.toMatchObject({
      code: PipelineCodes.LEDGER_BAD_REQUEST.code,
      message: `cannot erase "failing" of pipeline ${p} while it is failed: a runner may still deliver it; erase it once it is delivered, rejected, dead or discarded`,
    });
    await expect(eraseSubmission(store(), audit, p, 'nope', { reason: 'SAR-3', actor: 'operator:alice' })).rejects.toMatchObject({ code: PipelineCodes.LEDGER_UNKNOWN_KEY.code });
    await expect(eraseSubmission(store(), audit, p, 'failing', { reason: '  ', actor: 'operator:alice' })).rejects.toMatchObject({ code: PipelineCodes.LEDGER_BAD_REQUEST.code, message: 'erasing needs a reason' });
    expect(await audit.head()).toEqual(head);
    expect(await bodyOf(p, 'failing')).toBe(1);
  });
});
