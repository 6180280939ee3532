import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eraseSubmission } from '../privacy/erase.js';
import { purgePipeline } from '../privacy/purge.js';
import { ERR, pipelineNames, sub, useTestLedger } from '../ledger/ledger.test-helpers.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { formReference, loadStory, resolveReference } from './story.js';

describe.each(TEST_DIALECTS)("a submission's story on %s", (dialect) => {
  const env = useTestLedger(dialect);
  const next = pipelineNames();
  const KEY = 'Change address/CA3HJ7WR';

  it('tells each step in order: received, duplicate, attempts with their outcomes, operator actions, erasure', async () => {
    const p = next();
    const run = await env.ledger.startRun(p, 'runner:test:1', 'sha256:map1');
    await env.ledger.receive(p, run, [sub(KEY)], 'runner:test:1');
    await env.ledger.receive(p, run, [{ ...sub(KEY), source: 'again.ndjson:3' }], 'runner:test:1');
    const go = (moves: Parameters<typeof env.ledger.apply>[2]) => env.ledger.apply(p, run, moves, 'runner:test:1', { target: 'sql', mappingVersion: 'sha256:map1' });
    await go([{ key: KEY, to: 'delivering' }, { key: KEY, to: 'failed', error: ERR, nextAttemptAt: new Date('2030-01-01T00:00:00Z') }]);
    await go([{ key: KEY, to: 'delivering' }, { key: KEY, to: 'dead', error: { ...ERR, field: 'POSTCODE' } }]);
    await env.ledger.retry(p, KEY, 'operator:alice');
    await go([{ key: KEY, to: 'delivering' }, { key: KEY, to: 'delivered', legacyRef: 'DRV-42' }]);
    await eraseSubmission(env.ts.store, env.audit, p, KEY, { reason: 'SAR-7', actor: 'operator:bob' });

    const story = (await loadStory(env.ts.store, env.audit, p, KEY))!;
    expect(story).toMatchObject({ pipeline: p, key: KEY, reference: 'CA3HJ7WR', bodyKept: false, sentKept: false, mappingVersion: 'sha256:map1', files: [] });
    expect(story.row).toMatchObject({ state: 'delivered', legacyRef: 'DRV-42', attempts: 1, source: `test.ndjson:${KEY}` });
    expect(story.erasedAt).toBeInstanceOf(Date);
    expect(story.delivery).toMatchObject({ legacyRef: 'DRV-42', target: { kind: 'sql' } });
    expect(story.steps.map((s) => [s.event, s.actor, s.what])).toEqual([
      ['received', 'runner:test:1', 'received'],
      ['duplicate', 'runner:test:1', 'received again, same content (ignored)'],
      ['delivering', 'runner:test:1', 'handed to delivery'],
      ['failed', 'runner:test:1', 'attempt 1: failed, will retry'],
      ['delivering', 'runner:test:1', 'handed to delivery'],
      ['dead', 'runner:test:1', 'attempt 2: dead-lettered'],
      ['retried', 'operator:alice', 'sent back to received by an operator (dlq retry)'],
      ['delivering', 'runner:test:1', 'handed to delivery'],
      ['delivered', 'runner:test:1', 'attempt 1: delivered, legacy ref DRV-42'],
      ['erased', 'operator:bob', 'erased: body, data key and files destroyed'],
    ]);
    expect(story.steps[1]!.notes).toEqual(['from again.ndjson:3']);
    expect(story.steps[3]!.notes).toEqual(['TARGET_DOWN: connection refused', 'next attempt 2030-01-01T00:00:00.000Z']);
    expect(story.steps[5]!.notes).toEqual(['TARGET_DOWN on POSTCODE: connection refused']);
    expect(story.steps[9]!.notes).toEqual(['removed 1 bodies, 0 conflicts, 0 files', 'reason: SAR-7']);
    expect(story.steps.every((s, i) => i === 0 || s.seq >= story.steps[i - 1]!.seq)).toBe(true);
  });

  it('tells a rejection by the mapping with its field and reason and the version that rejected it', async () => {
    const p = next();
    const error = { code: 'MAPPING_RECORD_REJECTED', disposition: 'reject' as const, message: 'NINO (answer:Ni8sK3hB): nino: "***" is not valid', field: 'NINO' };
    await env.ledger.receive(p, null, [sub(KEY)], 'runner:test:1');
    await env.ledger.apply(p, null, [{ key: KEY, to: 'rejected', error }], 'runner:test:1', { mappingVersion: 'sha256:map2' });
    const story = (await loadStory(env.ts.store, env.audit, p, KEY))!;
    expect(story.mappingVersion).toBe('sha256:map2');
    expect(story.steps.at(-1)).toMatchObject({ event: 'rejected', what: 'rejected by the mapping', error, mappingVersion: 'sha256:map2', notes: [`MAPPING_RECORD_REJECTED on NINO: ${error.message}`] });
    expect(story.delivery).toBeNull();
  });

  it('lists the evidence kept and who opened it, and a confirmation by the legacy system', async () => {
    const p = next();
    await env.ledger.receive(p, null, [sub(KEY)], 'runner:test:1');
    await env.ledger.apply(p, null, [{ key: KEY, to: 'delivering' }, { key: KEY, to: 'delivered', legacyRef: 'R9' }], 'runner:test:1');
    const dir = mkdtempSync(join(tmpdir(), 'rekey-story-'));
    await env.ledger.sealedFiles(p).write(join(dir, 'CA3HJ7WR-attempt1-1.png.sealed'), Buffer.from('png'), { kind: 'evidence', subject: KEY });
    await env.audit.append([{ pipeline: p, event: 'evidence-opened', actor: 'operator:carol', detail: { keys: [KEY], files: ['CA3HJ7WR-attempt1-1.png.sealed'], kind: 'evidence' } }]);
    await env.ledger.reconcile(p, null, [{ key: KEY, accepted: true }], 'runner:test:1');
    const story = (await loadStory(env.ts.store, env.audit, p, KEY))!;
    expect(story.files).toEqual([{ file: 'CA3HJ7WR-attempt1-1.png.sealed', kind: 'evidence', createdAt: expect.any(Date) }]);
    expect(story.steps.slice(-2).map((s) => [s.event, s.actor, s.what, s.notes])).toEqual([
      ['evidence-opened', 'operator:carol', 'evidence decrypted for an operator', ['files CA3HJ7WR-attempt1-1.png.sealed']],
      ['confirmed', 'runner:test:1', 'confirmed by the legacy system', ['accepted by the legacy system']],
    ]);
    expect(story.row?.confirmed).toBe(true);
    expect([story.bodyKept, story.sentKept, story.erasedAt]).toEqual([true, false, null]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('tells the purge of its body, then of its row, by the retention policy', async () => {
    const p = next();
    const DAY = 86_400_000;
    const policy = { bodiesMs: 30 * DAY, evidenceMs: 90 * DAY, inboxDoneMs: 30 * DAY, inboxQuarantineMs: 90 * DAY, ledgerMs: 365 * DAY };
    await env.ledger.receive(p, null, [sub(KEY), sub('Other/K2')], 'runner:test:1');
    await env.ledger.apply(p, null, [{ key: KEY, to: 'delivering' }, { key: KEY, to: 'delivered', legacyRef: 'R1' }], 'runner:test:1');
    const t0 = Date.now();
    await purgePipeline(env.ts.store, env.audit, p, policy, { actor: 'operator:alice', now: new Date(t0 + 31 * DAY) });
    const bodyGone = (await loadStory(env.ts.store, env.audit, p, KEY))!;
    expect(bodyGone.bodyKept).toBe(false);
    expect(bodyGone.steps.at(-1)).toMatchObject({ event: 'purged', actor: 'operator:alice', what: 'body (and record as sent) purged by the retention policy' });
    expect(bodyGone.steps.at(-1)!.notes[0]).toMatch(/^one of 1 bodies last changed before \S+Z$/);
    await purgePipeline(env.ts.store, env.audit, p, policy, { actor: 'operator:alice', now: new Date(t0 + 400 * DAY) });
    const rowGone = (await loadStory(env.ts.store, env.audit, p, KEY))!;
    expect(rowGone.row).toBeNull();
    expect(rowGone.steps.slice(-2).map((s) => s.what)).toEqual(['body (and record as sent) purged by the retention policy', 'ledger row purged by the retention policy; its audit trail remains']);
    expect(await resolveReference(env.ts.store, p, 'CA3HJ7WR')).toBe(KEY);
    const untouched = (await loadStory(env.ts.store, env.audit, p, 'Other/K2'))!;
    expect(untouched.steps.map((s) => s.event)).toEqual(['received']);
  });

  it('is null for a key neither the ledger nor the log knows', async () => {
    expect(await loadStory(env.ts.store, env.audit, next(), KEY)).toBeNull();
  });

  it('resolves any reference, and names the pipelines held when the pipeline is unknown', async () => {
    const p = next();
    await env.ledger.receive(p, null, [sub(KEY)], 'runner:test:1');
    expect(await resolveReference(env.ts.store, p, 'ca3hj7')).toBe(KEY);
    await expect(resolveReference(env.ts.store, p, 'ZZ9')).rejects.toMatchObject({ code: 'SUBMISSION_NOT_FOUND', message: `pipeline ${p} holds no submission matching "ZZ9" (by key, form reference, legacy reference or prefix)` });
    const err = await resolveReference(env.ts.store, 'no-such-pipeline', 'CA3HJ7WR').catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'SUBMISSION_NOT_FOUND' });
    expect((err as Error).message).toMatch(/^the state store knows no pipeline "no-such-pipeline" \(it holds (p\d+, )*p\d+\)$/);
  });

  it('takes the form reference as the last part of the key', () => {
    expect([formReference('F/x/AB12'), formReference('AB12')]).toEqual(['AB12', 'AB12']);
  });
});
