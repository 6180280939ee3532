/**
 * Test helpers for driving the console in real headless Chromium: a real
 * `rekey serve` process (the built CLI) on a copy of the quick start plus a
 * pipeline whose legacy table refuses a lower-case surname (a legacy
 * rejection to correct) and one whose legacy database is full at the first
 * pass only (a dead letter to retry), Debian's Chromium launched as the browser target
 * launches it, and sign-in through the real form.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright';
import { CHROMIUM_ARGS, findChromium } from '../../connectors/browser/chromium.js';
import { freePort, rekey, root } from '../cli.test-helpers.js';
import { copyQuickStart, QUICK_START, QUICK_START_SUBMISSIONS } from '../quick-start.test-helpers.js';
import { TEST_PASSWORD, TEST_USERS, writeTestUsers } from './console.test-helpers.js';

/** The quick start's pipeline. */
export const QUICK = 'change-of-address';
/** The pipeline whose legacy table refuses a surname not in upper case. */
export const LEGACY = 'legacy-refusals';
/** The pipeline whose legacy database is full at its first pass (SQLITE_FULL, transient: a dead letter at one attempt) and has room after. */
export const FULL = 'legacy-full';
/** Surnames the legacy table refuses (the first to retry, the second to correct): canaries too. */
export const REFUSED = ['Qwyxzelborne', 'Vantrobeliska'] as const;

const LEGACY_MAPPING = ['mapping: legacy-refusals', 'fields:', '  REF: { from: submission_reference, required: true }', '  SURNAME: { answer: nm.last_name, required: true, pii: true, validate: { length: { max: 20 } } }', ''].join('\n');
const LEGACY_SETUP = 'CREATE TABLE CASES (ID INTEGER PRIMARY KEY AUTOINCREMENT, SUB_KEY TEXT NOT NULL UNIQUE, REF TEXT, SURNAME TEXT NOT NULL CHECK (SURNAME = upper(SURNAME)));\n';
const LEGACY_PIPELINE = [
  `pipeline: ${LEGACY}`,
  'mapping: ../mappings/legacy-refusals.yaml',
  'source: { kind: file, config: { path: ../../legacy-refusals.ndjson } }',
  'target: { kind: sqlite, config: { path: ../../.rekey/legacy-cases.sqlite, table: CASES, keyColumn: SUB_KEY, setupSql: ../../legacy-cases.sql } }',
  'schedule: { cron: "0 3 29 2 *", timezone: Europe/London }',
  'retry: { maxAttempts: 1, initialDelay: 1s, maxDelay: 1s, multiplier: 2, jitter: 0 }',
  '',
].join('\n');

// The first connection caps the file at its size after setup; each row needs overflow pages, so it cannot be written until a later connection (no cap).
const FULL_SETUP = 'CREATE TABLE CASES (ID INTEGER PRIMARY KEY, SUB_KEY TEXT NOT NULL UNIQUE, REF TEXT, SURNAME TEXT NOT NULL, PAD BLOB DEFAULT (zeroblob(20000)));\nPRAGMA max_page_count = 1;\n';
const FULL_PIPELINE = LEGACY_PIPELINE.replace(`pipeline: ${LEGACY}`, `pipeline: ${FULL}`)
  .replace('../../legacy-refusals.ndjson', '../../legacy-full.ndjson')
  .replace('legacy-cases.sqlite', 'legacy-full.sqlite')
  .replace('../../legacy-cases.sql', '../../legacy-full.sql');

function legacySubmission(ref: string, surname: string): string {
  return JSON.stringify({ form_name: 'F', submission_reference: ref, answers: [{ question_id: 'nm', question_text: 'Name', answer_text: surname, last_name: surname }] });
}

/** Answers the citizens typed (eight characters or more) in the quick start, and the refused surnames: none may appear where no evidence is granted. */
export function canaries(): string[] {
  const out: string[] = [...REFUSED];
  for (const line of readFileSync(join(root, QUICK_START_SUBMISSIONS), 'utf8').split('\n').filter(Boolean)) {
    for (const a of (JSON.parse(line) as { answers: { answer_text?: unknown }[] }).answers) if (typeof a.answer_text === 'string' && a.answer_text.length >= 8) out.push(a.answer_text);
  }
  return out;
}

/** A `rekey serve` process with its console, and a headless Chromium. */
export interface BrowserConsole {
  /** `http://localhost:PORT` (localhost is a secure context: the `__Host-` cookie is kept). */
  base: string;
  dir: string;
  /** The public key that checks serve's signed checkpoints and exports (PEM file). */
  verifyKey: string;
  browser: Browser;
  /** A new page in a fresh context (no cookies), downloads allowed. */
  newPage(): Promise<Page>;
  /** What serve wrote to stderr so far. */
  stderr(): string;
  /** Stops the browser and serve; resolves to serve's exit code. */
  close(): Promise<number | null>;
}

/** Starts serve (quick start, legacy-refusals and legacy-full, each run once at start, schedules that never fire) and Chromium; waits until the first passes are done. */
export async function startBrowserConsole(env: Record<string, string> = {}): Promise<BrowserConsole> {
  const dir = copyQuickStart('rekey-console-browser-');
  const file = join(dir, QUICK_START);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^schedule: .*$/m, 'schedule: { cron: "0 3 29 2 *", timezone: Europe/London }'));
  writeFileSync(join(dir, 'examples/pipelines/legacy-refusals.yaml'), LEGACY_PIPELINE);
  writeFileSync(join(dir, 'examples/mappings/legacy-refusals.yaml'), LEGACY_MAPPING);
  writeFileSync(join(dir, 'legacy-cases.sql'), LEGACY_SETUP);
  writeFileSync(join(dir, 'legacy-refusals.ndjson'), [legacySubmission('A1', REFUSED[0]), legacySubmission('A2', REFUSED[1]), legacySubmission('B1', 'SMITH')].join('\n') + '\n');
  writeFileSync(join(dir, 'examples/pipelines/legacy-full.yaml'), FULL_PIPELINE);
  writeFileSync(join(dir, 'legacy-full.sql'), FULL_SETUP);
  writeFileSync(join(dir, 'legacy-full.ndjson'), legacySubmission('C1', 'JONES') + '\n');
  mkdirSync(join(dir, '.rekey'), { recursive: true });
  const users = await writeTestUsers(dir);
  // A signing key and a write-once folder: serve signs checkpoints, and its audit exports carry one covering them.
  const keys = await rekey(['audit', 'keygen', join(dir, 'keys')], dir);
  if (keys.code !== 0) throw new Error(keys.stderr);
  mkdirSync(join(dir, 'checkpoints'));
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', join(dir, 'examples/pipelines'), '--port', String(port), '--console-users', users, '--run-at-start'], {
    cwd: dir,
    env: { ...process.env, REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff', REKEY_LOG_LEVEL: 'warn', REKEY_AUDIT_SIGNING_KEY: join(dir, 'keys/audit-signing.key.pem'), REKEY_AUDIT_CHECKPOINTS: join(dir, 'checkpoints'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = `http://localhost:${port}`;
  let browser: Browser | undefined;
  try {
    let ready = false;
    for (let i = 0; i < 120 && !ready; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const status = await fetch(`${base}/pipelines`, { headers: { authorization: `Bearer ${TEST_USERS.operator.token}` } }).then((r) => (r.ok ? r.text() : ''), () => '');
      // The first passes done: the quick start delivered 6, the legacy table refused 2, the full database left 1 dead.
      const dead = (pipeline: string) => fetch(`${base}/dead-letters?pipeline=${pipeline}`, { headers: { authorization: `Bearer ${TEST_USERS.operator.token}` } }).then((r) => r.text());
      ready = /delivered: 6/.test(status) && !status.includes('Running') && (await dead(LEGACY)).includes('F/A2') && (await dead(FULL)).includes('F/C1');
    }
    if (!ready) throw new Error(`serve did not finish its first passes: ${stderr}`);
    const executablePath = findChromium();
    if (!executablePath) throw new Error('no Chromium installed');
    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  } catch (e) {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const b = browser;
  return {
    base,
    dir,
    verifyKey: join(dir, 'keys/audit-verify.pub.pem'),
    browser: b,
    newPage: async () => (await b.newContext({ baseURL: base, acceptDownloads: true })).newPage(),
    stderr: () => stderr,
    async close() {
      await b.close();
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Signs in through the real form as the user of `who`, typing as a person would; waits for the page after. */
export async function signInAs(page: Page, who: keyof typeof TEST_USERS, next = '/'): Promise<void> {
  await page.goto(`/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByLabel('User name').fill(TEST_USERS[who].name);
  await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname !== '/sign-in'), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/**
 * Starts a pass of `pipeline` from its console page (the "Run a pass now"
 * button) and polls the delivered submissions (every 250 ms, at most 20 s)
 * until `key` is listed; resolves to how many links to `key` the list
 * shows at the end (1 once delivered, 0 if it never was), the page left
 * on that list.
 */
export async function runPassUntilDelivered(page: Page, pipeline: string, key: string): Promise<number> {
  await page.goto(`/pipelines/${pipeline}`);
  await Promise.all([page.waitForURL(/done=run-started/), page.getByRole('button', { name: /Run a pass now/ }).first().click()]);
  const link = page.locator(`main a[href="/submissions/${pipeline}/${encodeURIComponent(key)}"]`);
  let delivered = 0;
  for (let i = 0; i < 80 && delivered === 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    await page.goto(`/submissions?pipeline=${pipeline}&state=delivered`);
    delivered = await link.count();
  }
  return delivered;
}
