/**
 * The example pipeline (examples/pipelines/browser-change-of-address.yaml)
 * through the built CLI as a real process, `rekey run --json`, against the
 * legacy app on a free port named by DCS_URL: the summary, what the app
 * stored (each valid record once, under the reference the ledger holds),
 * and a second run that keys nothing again.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMapping } from '../../mappings/index.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { rekey, root, TEST_PII_KEY_HEX } from '../../runner/cli.test-helpers.js';
import { DEFAULT_USER, startLegacyApp, type LegacyApp } from '../../fixtures/legacy-app/legacy-app.js';
import { findChromium } from './chromium.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

const chromium = findChromium();
const PIPELINE = 'examples/pipelines/browser-change-of-address.yaml';
const MAPPING = join(root, 'examples/mappings/browser-change-of-address.yaml');
const EXPORT = join(root, 'fixtures/submissions/govuk-forms/change-of-address.ndjson');

describe.skipIf(!chromium)(`rekey run of the browser example pipeline${chromium ? '' : ' (skipped: no Chromium installed and none could be installed)'}`, () => {
  let app: LegacyApp;
  let state: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    app = await startLegacyApp();
    state = `sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-browser-cli-')), 'state.sqlite')}`;
    Object.assign(process.env, { DCS_URL: app.url, DCS_USER: DEFAULT_USER.username, DCS_PASSWORD: DEFAULT_USER.password, REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    process.env = saved;
    await app?.close();
  });

  it('keys the export\'s valid records once each, rejects the three the mapping refuses, and keys nothing on a second run', async () => {
    const first = await rekey(['run', '--json', '--state', state, PIPELINE]);
    expect(first.code, first.stderr).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({ pipeline: 'browser-change-of-address', read: 11, receivedNew: 11, rejected: 3, delivered: 8, failed: 0, dead: 0, waitingRetry: 0 });

    const mapping = loadMapping(MAPPING, readFileSync(MAPPING, 'utf8')).compiled!;
    const bodies = readFileSync(EXPORT, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { form_name: string; submission_reference: string });
    const valid = bodies.map((b) => ({ key: `${b.form_name}/${b.submission_reference}`, m: mapping.map(b) })).filter((x) => x.m.ok);
    expect(valid).toHaveLength(8);
    expect(app.store.cases.map((c) => c.licenceNo).sort()).toEqual(valid.map((v) => String(v.m.record.DRIVER_NO)).sort());

    const store = await openStateStore(state);
    try {
      const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
      const rows = await ledger.list('browser-change-of-address', { limit: 100 });
      const byKey = new Map(rows.map((r) => [r.key, r]));
      for (const v of valid) {
        const row = byKey.get(v.key)!;
        expect(row, v.key).toMatchObject({ state: 'delivered', confirmed: true });
        const stored = app.store.cases.find((c) => c.ref === row.legacyRef);
        expect(stored?.licenceNo, v.key).toBe(v.m.record.DRIVER_NO);
        expect(stored, v.key).toMatchObject({ surname: v.m.record.SURNAME, postcode: v.m.record.POSTCODE, document: { name: `${String(v.m.record.WEB_REF)}.txt` } });
      }
      expect(rows.filter((r) => r.state === 'rejected').map((r) => r.lastError?.code)).toEqual(['MAPPING_RECORD_REJECTED', 'MAPPING_RECORD_REJECTED', 'MAPPING_RECORD_REJECTED']);
    } finally {
      await store.close();
    }

    const second = await rekey(['run', '--json', '--state', state, PIPELINE]);
    expect(JSON.parse(second.stdout)).toMatchObject({ read: 11, receivedNew: 0, duplicates: 11, delivered: 0, failed: 0 });
    expect(app.store.cases).toHaveLength(8);
  }, 180_000);
});
