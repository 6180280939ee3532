/**
 * The `notify` target runs the conformance suite against the GOV.UK Notify
 * stand-in (fixtures/notify-standin), one stand-in with an empty store per
 * scenario, started by the test on a free port; the API key is a canary
 * read from the environment. The legacy system's records are the
 * notifications the stand-in holds, by reference (the submission key); the
 * legacy reference is the notification ID. Its bad record carries an email
 * address Notify refuses (400 ValidationError).
 */
import { expect } from 'vitest';
import { join } from 'node:path';
import { root } from '../../runner/cli.test-helpers.js';
import { DEFAULT_TEMPLATES, makeApiKey, startNotifyStandin } from '../../fixtures/notify-standin/notify-standin.js';
import { benchSubmissions } from '../conformance/bench-bodies.js';
import { withAnswer } from '../conformance/conformance.run.js';
import { targetConformance } from '../conformance/target.conformance.js';

const TEMPLATE = Object.keys(DEFAULT_TEMPLATES).find((id) => DEFAULT_TEMPLATES[id]!.type === 'email')!;
const RUN = Math.random().toString(36).slice(2, 8);

type Answer = { question_id: string; answer_text: string };
const answer = (body: object, id: string) => (body as { answers: Answer[] }).answers.find((a) => a.question_id === id)!.answer_text;

targetConformance({
  name: 'notify',
  mapping: join(root, 'fixtures/notify-standin/notify.mapping.yaml'),
  submissions: (n, offset) =>
    benchSubmissions(n, offset).map((b) => withAnswer(b, 'email', 'answer_text', `citizen.${(b as { submission_reference: string }).submission_reference}.${RUN}@example.org`)),
  records: 20,
  batch: 5,
  crashAt: [
    { at: 'after-delivering:2', reached: 5 },
    { at: 'after-target-commit:3', reached: 15 },
    { at: 'after-ledger-delivered:2' },
  ],
  secretSetting: 'the Notify API key',
  bad: {
    make: (b) => withAnswer(b, 'email', 'answer_text', 'not-an-address'),
    error: () => ({ code: 'NOTIFY_REJECTED', disposition: 'reject', message: 'EMAIL: Notify refused the email: 400 ValidationError: email_address Not a valid email address' }),
  },
  pii: (b) => [answer(b, 'email'), answer(b, 'nm')],
  async legacy() {
    const apiKey = makeApiKey('rekey_conformance');
    const standin = await startNotifyStandin({ apiKeys: [apiKey] });
    return {
      target: {
        kind: 'notify',
        config: { templateId: TEMPLATE, type: 'email', to: 'EMAIL', personalisation: { name: 'NAME', case_reference: 'REF' }, baseUrl: standin.url, apiKey: { env: 'NOTIFY_API_KEY' }, timeoutMs: 5000 },
      },
      where: standin.url,
      env: { NOTIFY_API_KEY: apiKey },
      secret: apiKey,
      loseNextAnswers: (n) => void (standin.faults.loseNextAnswers = n),
      records: async () => standin.notifications.map((n) => ({ key: n.reference ?? `no reference ${n.id}`, ref: n.id })),
      async check() {
        for (const n of standin.notifications) expect(n.email_address, `${n.reference} went to its own address`).toBe(`citizen.${n.reference?.split('/').at(-1)}.${RUN}@example.org`);
      },
      drop: () => standin.close(),
    };
  },
});
