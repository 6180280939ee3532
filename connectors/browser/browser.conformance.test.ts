/**
 * The `browser` target runs the conformance suite in real Chromium against
 * the legacy app (fixtures/legacy-app), one app with an empty store per
 * scenario, started by the test on a free port and signed in to with a
 * canary password read from the environment. Few records: each is a form
 * keyed through the app's screens. Skipped, visibly, without Chromium.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { expect } from 'vitest';
import { loadMapping } from '../../mappings/index.js';
import { root } from '../../runner/cli.test-helpers.js';
import { startLegacyApp } from '../../fixtures/legacy-app/legacy-app.js';
import { exportRows, manySubmissions } from '../../fixtures/legacy-app/legacy-app.submissions.js';
import { keyOf, withAnswer } from '../conformance/conformance.run.js';
import { targetConformance } from '../conformance/target.conformance.js';
import type { BrowserConfig } from './browser.config.js';
import { findChromium } from './chromium.js';

const MAPPING = join(root, 'examples/mappings/browser-change-of-address.yaml');
const mapping = loadMapping(MAPPING, readFileSync(MAPPING, 'utf8')).compiled!;
const example = (parse(readFileSync(join(root, 'examples/pipelines/browser-change-of-address.yaml'), 'utf8')) as { target: { config: BrowserConfig } }).target.config;
const rows = exportRows(root, (b) => mapping.map(b).ok);
const keyByLicence = new Map<string, string>();

type Answer = { question_id: string; answer_text: string };
const answer = (body: object, id: string) => (body as { answers: Answer[] }).answers.find((a) => a.question_id === id)?.answer_text ?? '';

targetConformance({
  name: 'browser',
  ...(!findChromium() && { skip: 'no Chromium installed and none could be installed' }),
  mapping: MAPPING,
  submissions(n, offset) {
    const bodies = manySubmissions(rows, offset + n).slice(offset);
    for (const b of bodies) keyByLicence.set(String(mapping.map(b).record.DRIVER_NO), keyOf(b));
    return bodies;
  },
  records: 4,
  batch: 2,
  pipeline: { limits: { concurrency: 1 } },
  crashAt: [{ at: 'after-delivering:2', reached: 2 }],
  readBack: true,
  secretSetting: 'the sign-in password',
  bad: {
    make: (b) => withAnswer(b, 'Ad2pW6yJ', 'postcode', 'ZZ1 1ZZ'),
    error: () => ({
      code: 'BROWSER_REJECTED',
      disposition: 'reject',
      message: expect.stringMatching(/^the legacy app showed its error message \(evidence: .+\.png\.sealed\)$/) as unknown as string,
      textHash: expect.stringMatching(/^hmac:[0-9a-f]{32}$/) as unknown as string,
    }),
  },
  pii: (b) => ['Lc4vT9wN', 'Fn3kQ8aZ', 'Db7mR2xP', 'Em9bX2dS'].map((id) => answer(b, id)).filter((v) => v.length > 0),
  async legacy() {
    const password = `canary-${Math.random().toString(36).slice(2, 12)}`;
    const app = await startLegacyApp({ users: { clerk: password } });
    const config: BrowserConfig = {
      ...example,
      baseUrl: { env: 'DCS_URL' } as unknown as string,
      login: { ...example.login!, username: { env: 'DCS_USER' } as unknown as string, password: { env: 'DCS_PASSWORD' } as unknown as string },
      contexts: 1,
      stepTimeoutMs: 5000,
      evidence: { folder: './evidence', traces: 'off' },
    };
    return {
      target: { kind: 'browser', config: config as unknown as Record<string, unknown> },
      where: app.url,
      env: { DCS_URL: app.url, DCS_USER: 'clerk', DCS_PASSWORD: password },
      secret: password,
      loseNextAnswers: (n) => void (app.chaos.loseNextSaves = n),
      records: async () => app.store.cases.map((c) => ({ key: keyByLicence.get(c.licenceNo) ?? `unknown licence ${c.licenceNo}`, ref: c.ref })),
      drop: () => app.close(),
    };
  },
});
