/**
 * Evidence without leaks, in real Chromium against the legacy app: two
 * submissions with canary values keyed one after the other on the same
 * signed-in context with every form traced, the session expiring between
 * them so that the second form signs in again in its middle, and the
 * second's save answered 500 so that its screenshot and trace are kept.
 * Every evidence file is ciphertext on disk; opened (traces unzipped), no
 * file holds the sign-in password or the session cookie, and the second's
 * holds nothing of the first submission. And without an encrypted file
 * store, nothing is kept at all.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { unzipSync } from 'fflate';
import { pino } from 'pino';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMapping, type CompiledMapping } from '../../mappings/index.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { root } from '../../runner/cli.test-helpers.js';
import { startLegacyApp, type LegacyApp } from '../../fixtures/legacy-app/legacy-app.js';
import { exportRows } from '../../fixtures/legacy-app/legacy-app.submissions.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import type { Ctx, MappedRecord, SealedFiles } from '../connector.types.js';
import type { BrowserConfig } from './browser.config.js';
import { BrowserTarget } from './browser.target.js';
import { findChromium } from './chromium.js';

const chromium = findChromium();
const MAPPING = join(root, 'examples/mappings/browser-change-of-address.yaml');
const PIPELINE = join(root, 'examples/pipelines/browser-change-of-address.yaml');
const NAME = 'browser-evidence';

/** A canary: `zq` and twelve random lower-case letters, the same under URL and HTML encoding; searched for in any case. */
const canary = () => `zq${Array.from({ length: 12 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('')}`;

/** The entries of a zip archive by name (fflate). */
function unzip(zip: Buffer): Map<string, Buffer> {
  return new Map(Object.entries(unzipSync(zip)).map(([name, data]) => [name, Buffer.from(data)]));
}

/** The canaries (of `named`) found in `bytes`, in any case. */
const found = (bytes: Buffer, named: Record<string, string>) => {
  const text = bytes.toString('latin1').toLowerCase();
  return Object.entries(named).filter(([, v]) => text.includes(v)).map(([k]) => k);
};

describe.skipIf(!chromium)(`browser evidence in Chromium${chromium ? '' : ' (skipped: no Chromium installed and none could be installed)'}`, () => {
  let mapping: CompiledMapping;
  let app: LegacyApp;
  let store: StateStore;
  let files: SealedFiles;
  let dir: string;
  const password = canary();

  const records = (): MappedRecord[] => exportRows(root, (b) => mapping.map(b).ok).slice(0, 2).map((body) => ({ key: mapping.keyOf(body)!, record: mapping.map(body).record, children: {}, mappingVersion: mapping.version, uncertain: false }));
  const makeTarget = (evidence: string) => {
    const cfg = (parse(readFileSync(PIPELINE, 'utf8')) as { target: { config: BrowserConfig } }).target.config;
    const config: BrowserConfig = { ...cfg, baseUrl: app.url, login: { ...cfg.login!, username: 'clerk', password }, contexts: 1, readBack: undefined, stepTimeoutMs: 5000, evidence: { folder: evidence, confirmations: true, traces: 'always' } };
    return new BrowserTarget(config, { baseDir: dir, pipeline: NAME, mapping: { name: mapping.spec.name, fields: mapping.spec.fields } });
  };

  beforeAll(async () => {
    mapping = loadMapping(MAPPING, readFileSync(MAPPING, 'utf8')).compiled!;
    dir = mkdtempSync(join(tmpdir(), 'rekey-browser-evidence-'));
    store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
    files = new Ledger(store, new AuditLog(store), TEST_KEYS).sealedFiles(NAME);
    app = await startLegacyApp({ users: { clerk: password } });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  it('seals every screenshot and trace; none holds the sign-in password, and the second form\'s holds nothing of the first', async () => {
    const people = [0, 1].map(() => ({ forenames: canary(), surname: canary(), address: canary(), email: canary() }));
    const keyed: MappedRecord[] = exportRows(root, (b) => mapping.map(b).ok).slice(0, 2).map((row, i) => {
      const body = structuredClone(row) as { answers: Record<string, unknown>[] };
      const answer = (id: string) => body.answers.find((a) => a.question_id === id)!;
      const p = people[i]!;
      Object.assign(answer('Fn3kQ8aZ'), { first_name: p.forenames, last_name: p.surname });
      Object.assign(answer('Ad2pW6yJ'), { address1: `1 ${p.address} Street` });
      Object.assign(answer('Em9bX2dS'), { answer_text: `${p.email}@example.com` });
      const m = mapping.map(body);
      expect(m.ok).toBe(true);
      return { key: mapping.keyOf(body)!, record: m.record, children: m.children, mappingVersion: mapping.version, uncertain: false };
    });
    const [first, second] = keyed as [MappedRecord, MappedRecord];
    const target = makeTarget(join(dir, 'evidence'));
    const ctx: Ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1, files };
    let traceFolder: string | undefined;
    try {
      await target.connect();
      const [one] = await target.deliver([first], ctx);
      expect(one).toMatchObject({ status: 'delivered' });
      app.store.sessions.clear();
      app.chaos.loseNextSaves = 1;
      const [two] = await target.deliver([second], ctx);
      expect(two).toMatchObject({ status: 'failed', error: { code: 'BROWSER_SERVER_ERROR' } });
      expect(two?.status === 'failed' && two.error.message).toMatch(/\(evidence: \S+-attempt1-\d+\.png\.sealed, \S+-attempt1-\d+\.trace\.zip\.sealed\)$/);
      traceFolder = target.pool.traceFolder;
      expect(readdirSync(traceFolder!).filter((f) => f.endsWith('.trace') || f.endsWith('.network'))).toEqual([]);
    } finally {
      await target.close();
    }
    expect(existsSync(traceFolder!)).toBe(false);
    expect(app.store.logins).toHaveLength(2);
    expect(app.store.cases).toHaveLength(2);
    const sessions = [...app.store.sessions.keys()];
    expect(sessions).toHaveLength(1);

    const rows = await store.select<{ path: string; kind: string; subject: string }>('SELECT path, kind, subject FROM sealed_files WHERE pipeline = $1 ORDER BY id', [NAME]);
    expect(rows.map((r) => [r.kind, r.subject, r.path.replace(/^.*-(attempt1-\d+|confirmation)\./, '$1.').replace(/^attempt1-\d+/, 'attempt')])).toEqual([
      ['evidence', first.key, 'confirmation.png.sealed'],
      ['evidence', second.key, 'attempt.png.sealed'],
      ['evidence', second.key, 'attempt.trace.zip.sealed'],
    ]);
    expect(readdirSync(join(dir, 'evidence')).filter((f) => !f.endsWith('.sealed'))).toEqual([]);

    const secret = { password, session: sessions[0]! };
    const firstCanaries = Object.fromEntries(Object.entries(people[0]!).map(([k, v]) => [`first ${k}`, v]));
    const secondCanaries = Object.fromEntries(Object.entries(people[1]!).map(([k, v]) => [`second ${k}`, v]));
    const all = { ...secret, ...firstCanaries, ...secondCanaries };
    for (const { path } of rows) {
      const raw = readFileSync(path);
      expect(['\x89PNG', 'PK\x03\x04'], path).not.toContain(raw.subarray(0, 4).toString('latin1'));
      expect(found(raw, all), path).toEqual([]);
      const clear = await files.read(path);
      if (path.endsWith('.png.sealed')) {
        expect(clear.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        continue;
      }
      const entries = unzip(clear);
      expect([...entries.keys()]).toEqual(expect.arrayContaining(['trace.trace', 'trace.network']));
      const network = entries.get('trace.network')!.toString('utf8');
      expect(network).toContain('"name":"Cookie","value":"[redacted]"');
      const seen = new Set<string>();
      for (const [name, bytes] of entries) {
        expect(found(bytes, { ...secret, ...firstCanaries }), `${name} in ${path}`).toEqual([]);
        for (const k of found(bytes, secondCanaries)) seen.add(k);
      }
      expect([...seen].sort(), 'the trace records the second form itself').toEqual(Object.keys(secondCanaries).sort());
    }
  }, 60_000);

  it('keeps no evidence at all, and says so once, when it is given no encrypted file store', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _e, done) => void (lines.push(chunk.toString()), done()) }));
    const evidence = join(dir, 'unsealed');
    const target = makeTarget(evidence);
    const [a, b] = records() as [MappedRecord, MappedRecord];
    try {
      await target.connect();
      app.chaos.failNext = 2;
      const out = await target.deliver([a, b], { log, signal: new AbortController().signal, attempt: 2 });
      expect(out.map((o) => o.status === 'failed' && o.error.message)).toEqual([expect.stringMatching(/500 for GET \/login$/), expect.stringMatching(/500 for GET \/login$/)]);
    } finally {
      await target.close();
    }
    expect(readdirSync(evidence)).toEqual([]);
    const warned = lines.map((l) => JSON.parse(l) as { code?: string }).filter((l) => l.code === 'BROWSER_EVIDENCE_NOT_KEPT');
    expect(warned).toHaveLength(1);
  }, 30_000);
});
