/**
 * The audit page over a real store filled by real passes: verification on
 * request (intact, then broken by an edit), external checkpoints written
 * by serve's own writer, the mapping versions, and the export downloaded
 * and checked with `rekey audit verify --export`'s logic.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeys, parsePublicKey } from '../../../pipelines/audit/checkpoints.js';
import { verifyExport } from '../../../pipelines/audit/export-verify.js';
import { parseProof, verifyProof } from '../../../pipelines/audit/audit.prove.js';
import { arraySource, submission, testMapping, testOptions, testPipeline, TestTarget } from '../../../pipelines/flow/flow.test-helpers.js';
import { runPass } from '../../../pipelines/flow/pass.js';
import { auditCheckpoints } from '../../serve/audit-checkpoints.js';
import type { ConsolePipeline } from '../context.js';
import { startTestConsole, type TestConsole } from '../console.test-helpers.js';
import { auditPagesWith, type AuditEnv } from './audit.pages.js';
import { submissionsPages } from './submissions.pages.js';
import { readFile } from 'node:fs/promises';

const CANARY = 'Zephyrinovaque';
const CANARY_2 = 'Brumbledoxter';

let dir: string;
let keys: { privateKeyPath: string; publicKeyPath: string };
let c: TestConsole | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rekey-audit-page-'));
  keys = await generateSigningKeys(join(dir, 'keys'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(async () => {
  await c?.close();
  c = undefined;
});

/** The served pipelines: the audit page reads their names only (the passes below run them from test parts). */
const pipelines: ConsolePipeline[] = ['alpha', 'beta'].map((name) => ({ name, file: `${name}.yaml`, def: { pipeline: name } as ConsolePipeline['def'] }));

async function fill(t: TestConsole): Promise<void> {
  const mapping = testMapping();
  await runPass(testPipeline(arraySource([submission('A1', CANARY)]), new TestTarget(), { name: 'alpha', mapping }), t.runtime.ledger, testOptions());
  await runPass(testPipeline(arraySource([submission('B1', CANARY_2)]), new TestTarget(), { name: 'beta', mapping }), t.runtime.ledger, testOptions());
}

async function get(t: TestConsole, path: string, cookie: string) {
  const res = await fetch(`${t.url}${path}`, { redirect: 'manual', headers: { cookie } });
  return { status: res.status, res, text: await res.text() };
}

async function verifyNow(t: TestConsole, cookie: string): Promise<string> {
  const { token, cookie: jar } = await t.formToken(cookie, '/audit');
  const res = await fetch(`${t.url}/audit/verify`, { method: 'POST', redirect: 'manual', headers: { cookie: jar, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: token }) });
  expect(res.status).toBe(303);
  // The verification runs in the background: read the page until it has a result.
  for (;;) {
    const html = (await get(t, '/audit', cookie)).text;
    if (!html.includes('>Verifying<')) return html;
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

async function* linesOf(text: string): AsyncIterable<string> {
  for (const line of text.split('\n')) yield line;
}

describe('the audit page', () => {
  it('verifies the chain on request, shows the mapping versions, and finds an edited entry', async () => {
    c = await startTestConsole({ pages: [auditPagesWith({}), submissionsPages], pipelines });
    await fill(c);
    const auditor = await c.signIn('auditor');
    const first = await get(c, '/audit', auditor);
    expect(first.status).toBe(200);
    expect(first.text).toContain('Not verified since this console started');
    expect(first.text).toContain('audit checkpoints are off');
    const [version] = await c.runtime.store.select<{ version: string }>('SELECT version FROM mapping_texts');
    expect(first.text).toContain(`href="/mappings/${encodeURIComponent(version!.version)}"`);
    expect(first.text).toContain('alpha, beta');
    const mappingPage = await get(c, `/mappings/${encodeURIComponent(version!.version)}`, auditor);
    expect(mappingPage.status).toBe(200);
    expect(mappingPage.text).toContain(version!.version);

    const ok = await verifyNow(c, auditor);
    expect(ok).toContain('Chain intact');
    expect(ok).toMatch(/\d+ entries recomputed, 0 checkpoint\(s\) matched; verified at .* for ann\.auditor/);
    expect(ok).toContain('no external checkpoint: a rewrite of the whole chain or of its tail cannot be detected');

    const [verified] = await c.runtime.store.select<{ actor: string; detail: string }>("SELECT actor, detail FROM audit_log WHERE event = 'audit-verified' ORDER BY seq");
    expect(verified!.actor).toBe('console:ann.auditor');
    expect(JSON.parse(verified!.detail)).toMatchObject({ keys: [], ok: true, checkpoints: 0, externalCheckpoints: 0 });

    await c.runtime.store.exec("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2");
    const broken = await verifyNow(c, auditor);
    expect(broken).toContain('Chain broken');
    expect(broken).toContain('At seq 2: edited: the entry at seq 2 no longer matches its hash');
    const outcomes = await c.runtime.store.select<{ detail: string }>("SELECT detail FROM audit_log WHERE event = 'audit-verified' ORDER BY seq");
    expect(outcomes.map((o) => JSON.parse(o.detail) as unknown)).toEqual([expect.objectContaining({ ok: true }), { keys: [], ok: false, entries: 1, checkpoints: 0, externalCheckpoints: 0, firstBad: { seq: 2, problem: 'edited' } }]);
    for (const canary of [CANARY, CANARY_2]) expect(broken).not.toContain(canary);

    const viewer = await c.signIn('viewer');
    expect((await get(c, '/audit', viewer)).status).toBe(403);
    const stranger = await get(c, '/audit', '');
    expect(stranger.status).toBe(303);
    expect(stranger.res.headers.get('location')).toBe('/sign-in?next=%2Faudit');
  });

  it('shows the external checkpoints serve wrote, verifies against them, and exports a file the offline check accepts', async () => {
    const folder = join(dir, 'worm');
    await mkdir(folder, { recursive: true });
    const env: AuditEnv = { REKEY_AUDIT_CHECKPOINTS: folder, REKEY_AUDIT_SIGNING_KEY: keys.privateKeyPath };
    c = await startTestConsole({ pages: [auditPagesWith(env)], pipelines });
    await fill(c);
    const writer = await auditCheckpoints(env, c.runtime.audit, pino({ level: 'silent' }));
    await writer!.writeNow();
    const head = await c.runtime.audit.head();
    const operator = await c.signIn('operator');
    const page = await get(c, '/audit', operator);
    expect(page.text).toContain(`seq ${head.seq}, signed`);
    expect(page.text).toContain(`checkpoint-${String(head.seq).padStart(12, '0')}.jsonl`);
    expect(page.text).not.toContain('audit checkpoints are off');
    const verified = await verifyNow(c, operator);
    expect(verified).toContain(`${head.seq} entries recomputed, 1 checkpoint(s) matched`);
    expect(verified).not.toContain('no external checkpoint');
    // The verification is on the log, by its user, as the new head.
    const [verifiedEntry] = await c.runtime.store.select<{ seq: number | string; actor: string; detail: string }>("SELECT seq, actor, detail FROM audit_log WHERE event = 'audit-verified'");
    expect({ ...verifiedEntry, seq: Number(verifiedEntry!.seq), detail: JSON.parse(verifiedEntry!.detail) as unknown }).toEqual({
      seq: head.seq + 1,
      actor: 'console:olly.operator',
      detail: { keys: [], ok: true, entries: head.seq, checkpoints: 1, externalCheckpoints: 1 },
    });
    const covered = head.seq + 1;

    const today = new Date().toISOString().slice(0, 10);
    const auditor = await c.signIn('auditor');
    const exported = await get(c, `/audit/export?from=${today}&to=${today}&pipeline=alpha`, auditor);
    expect(exported.status).toBe(200);
    expect(exported.res.headers.get('content-disposition')).toBe(`attachment; filename="rekey-audit-alpha-${today}-to-${today}.jsonl"`);
    const lines = exported.text.split('\n').filter(Boolean);
    const header = JSON.parse(lines[0]!) as { format: string; filter: unknown; range: { from: number; to: number }; checkpoint: unknown };
    expect(header).toMatchObject({ format: 'rekey-audit-export', filter: { pipeline: 'alpha' }, range: { from: 1, to: covered } });
    expect(header.checkpoint).not.toBeNull();
    const entries = lines.slice(1, -1).map((l) => JSON.parse(l) as { omitted?: boolean; pipeline?: string });
    expect(entries.some((e) => e.omitted)).toBe(true);
    expect(entries.filter((e) => !e.omitted).every((e) => e.pipeline === 'alpha')).toBe(true);
    const publicKey = parsePublicKey(await readFile(keys.publicKeyPath, 'utf8'));
    const check = await verifyExport(linesOf(exported.text), { publicKey });
    expect(check).toMatchObject({ ok: true, sealed: true, range: { from: 1, to: covered } });
    const tampered = exported.text.replace('"event":"received"', '"event":"rejected"');
    expect((await verifyExport(linesOf(tampered), { publicKey })).ok).toBe(false);
    for (const canary of [CANARY, CANARY_2]) expect(exported.text).not.toContain(canary);

    // The export is on the audit log, after the range it covers, with who, the filter, the days and the counts.
    const recorded = async () =>
      (await c!.runtime.store.select<{ seq: number; pipeline: string; actor: string; detail: string }>("SELECT seq, pipeline, actor, detail FROM audit_log WHERE event = 'audit-exported' ORDER BY seq")).map((r) => ({ ...r, seq: Number(r.seq), detail: JSON.parse(r.detail) as unknown }));
    expect(await recorded()).toEqual([
      {
        seq: covered + 1,
        pipeline: 'alpha',
        actor: 'console:ann.auditor',
        detail: {
          keys: [],
          format: 'jsonl',
          filter: { pipeline: 'alpha' },
          from: `${today}T00:00:00.000Z`,
          to: `${today}T23:59:59.999Z`,
          range: { from: 1, to: covered },
          entries: entries.filter((e) => !e.omitted).length,
          omitted: entries.filter((e) => e.omitted).length,
          signed: true,
          complete: true,
        },
      },
    ]);
    expect(entries.filter((e) => !e.omitted).length).toBeGreaterThan(0);
    expect((await c.runtime.audit.verify()).ok).toBe(true);

    const again = await get(c, `/audit/export?pipeline=alpha`, operator);
    expect(again.status).toBe(200);
    const againHeader = JSON.parse(again.text.split('\n')[0]!) as { range: { from: number; to: number } };
    expect(againHeader.range).toEqual({ from: 1, to: covered + 1 });
    expect(await verifyExport(linesOf(again.text), { publicKey })).toMatchObject({ ok: true, sealed: true, range: { from: 1, to: covered + 1 } });
    const viewer = await c.signIn('viewer');
    expect((await get(c, `/audit/export?pipeline=alpha`, viewer)).status).toBe(403);
    expect((await get(c, `/audit/export`, '')).status).toBe(303);
    const bad = await get(c, '/audit/export?from=31/12/2026', auditor);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<a href="#export-from">Enter the first day as a date, for example 2026-01-31</a>');
    expect(c.logged()).toContain('console audit export');
    // The refused exports wrote nothing; the two downloads are recorded, and the log holds no citizen's value.
    expect((await recorded()).map((r) => [r.seq, r.actor])).toEqual([
      [covered + 1, 'console:ann.auditor'],
      [covered + 2, 'console:olly.operator'],
    ]);
    const logText = JSON.stringify(await c.runtime.store.select('SELECT * FROM audit_log'));
    for (const canary of [CANARY, CANARY_2]) expect(logText).not.toContain(canary);
  });

  it("downloads a submission's proof from its page, held to serve's external checkpoints, that the offline check accepts; recorded, and refused from a broken log", async () => {
    const folder = join(dir, 'worm-proof');
    await mkdir(folder, { recursive: true });
    const env: AuditEnv = { REKEY_AUDIT_CHECKPOINTS: folder, REKEY_AUDIT_SIGNING_KEY: keys.privateKeyPath };
    c = await startTestConsole({ pages: [auditPagesWith(env), submissionsPages], pipelines });
    await fill(c);
    await (await auditCheckpoints(env, c.runtime.audit, pino({ level: 'silent' })))!.writeNow();
    const head = await c.runtime.audit.head();
    const keyOf = async (p: string) => (await c!.runtime.store.select<{ key: string }>('SELECT key FROM ledger WHERE pipeline = $1', [p]))[0];
    const [alpha, beta] = [await keyOf('alpha'), await keyOf('beta')];
    const proofHref = `/submissions/alpha/${encodeURIComponent(alpha!.key)}/proof`;
    const auditor = await c.signIn('auditor');
    const page = await get(c, `/submissions/alpha/${encodeURIComponent(alpha!.key)}`, auditor);
    expect(page.text).toContain(`href="${proofHref}" download>Download a proof of these entries</a>`);

    const got = await get(c, proofHref, auditor);
    expect(got.status).toBe(200);
    expect(got.res.headers.get('content-disposition')).toMatch(/^attachment; filename="rekey-proof-alpha-[A-Za-z0-9._-]+\.json"$/);
    const publicKey = parsePublicKey(await readFile(keys.publicKeyPath, 'utf8'));
    const checked = verifyProof(parseProof(got.text), { publicKey });
    expect(checked).toMatchObject({ ok: true, key: alpha!.key, anchor: { seq: head.seq } });
    expect(checked.proven.map((e) => e.event)).toEqual(expect.arrayContaining(['received', 'delivered']));
    for (const other of [CANARY, CANARY_2, beta!.key]) expect(got.text).not.toContain(other);
    const proved = async () => (await c!.runtime.store.select<{ actor: string; detail: string }>("SELECT actor, detail FROM audit_log WHERE event = 'audit-proved'")).map((r) => ({ actor: r.actor, detail: JSON.parse(r.detail) as unknown }));
    expect(await proved()).toEqual([{ actor: 'console:ann.auditor', detail: { keys: [], key: alpha!.key, range: { from: expect.any(Number), to: head.seq }, naming: checked.proven.length, checkpoint: head.seq } }]);
    expect(c.logged()).toContain('console audit proof');

    expect((await get(c, proofHref, await c.signIn('viewer'))).status).toBe(403);
    expect((await get(c, '/submissions/alpha/nobody/proof', auditor)).status).toBe(404);
    await c.runtime.store.exec("UPDATE audit_log SET actor = 'someone-else' WHERE seq = $1", [head.seq]);
    const broken = await get(c, proofHref, auditor);
    expect(broken.status).toBe(409);
    expect(broken.text).toContain(`The audit log is broken at entry ${head.seq} (edited: the entry at seq ${head.seq} no longer matches its hash)`);
    expect(await proved()).toHaveLength(1);
  });
});
