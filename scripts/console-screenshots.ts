/**
 * Screenshots of the console for the README and docs/console.md, made from
 * a real run: the quick start copied into a temporary folder, `rekey run`
 * on it, then `rekey serve` with a users file, and headless Chromium signed
 * in through the sign-in form. Writes docs/images/console-*.png (1280 px
 * wide). Needs `npm run build` first (`npm run screenshots` does both).
 *
 * The submissions are the synthetic fixtures of the quick start. The data
 * pages are shot as an auditor without evidence, so personal values are
 * masked; the pipelines page as a viewer; a dead letter as an operator.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright';
import { CHROMIUM_ARGS, findChromium } from '../connectors/browser/chromium.js';
import { hashPassword } from '../runner/console/passwords.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'dist', 'runner', 'main.js');
const images = join(root, 'docs', 'images');
const PIPELINE = 'change-of-address';
const REFERENCE = 'CA3HJ7WR';
/** Passwords of this throwaway run only. */
const USERS = {
  viewer: { role: 'viewer', password: 'viewer-screenshots-only' },
  auditor: { role: 'auditor', password: 'auditor-screenshots-only' },
  operator: { role: 'operator', password: 'operator-screenshots-only' },
} as const;
type Who = keyof typeof USERS;

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

/** Copies what the quick start reads (the example pipeline, its mapping, the fixtures it names) into `dir`. */
async function copyQuickStart(dir: string): Promise<void> {
  await mkdir(join(dir, 'examples', 'pipelines'), { recursive: true });
  await cp(join(root, 'examples', 'mappings'), join(dir, 'examples', 'mappings'), { recursive: true });
  await cp(join(root, 'examples', 'pipelines', `${PIPELINE}.yaml`), join(dir, 'examples', 'pipelines', `${PIPELINE}.yaml`));
  await cp(join(root, 'fixtures', 'submissions', 'govuk-forms'), join(dir, 'fixtures', 'submissions', 'govuk-forms'), { recursive: true });
  await cp(join(root, 'fixtures', 'legacy'), join(dir, 'fixtures', 'legacy'), { recursive: true });
}

async function writeUsers(file: string): Promise<void> {
  const lines = ['users:'];
  for (const [name, u] of Object.entries(USERS)) {
    lines.push(`  - name: ${name}`, `    role: ${u.role}`, `    password: "${await hashPassword(u.password)}"`);
  }
  await writeFile(file, `${lines.join('\n')}\n`);
}

async function waitForHealth(url: string, serve: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (serve.exitCode !== null) throw new Error(`rekey serve exited with ${serve.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('rekey serve did not answer /health');
}

async function signedIn(browser: Browser, url: string, who: Who): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${url}/sign-in`);
  await page.fill('#username', who);
  await page.fill('#password', USERS[who].password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/sign-in')), page.click('button:has-text("Sign in")')]);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  const file = join(images, `console-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  process.stdout.write(`wrote ${file}\n`);
}

/** Follows the first link whose href starts with `prefix`. */
async function follow(page: Page, prefix: string): Promise<void> {
  const href = await page.locator(`main a[href^="${prefix}"]`).first().getAttribute('href');
  if (!href) throw new Error(`no link to ${prefix} on ${page.url()}`);
  await page.goto(new URL(href, page.url()).toString());
}

async function run(): Promise<void> {
  if (!existsSync(main)) throw new Error('dist/runner/main.js is missing: run `npm run build` first');
  const executablePath = findChromium();
  if (!executablePath) throw new Error("no Chromium: install Debian's chromium-headless-shell or chromium");
  const dir = await mkdtemp(join(tmpdir(), 'rekey-screenshots-'));
  let serve: ChildProcess | undefined;
  let browser: Browser | undefined;
  try {
    await copyQuickStart(dir);
    const pass = spawnSync(process.execPath, [main, 'run', `examples/pipelines/${PIPELINE}.yaml`], { cwd: dir, encoding: 'utf8' });
    // Exit 1 is expected: some sample submissions are invalid on purpose.
    if (pass.status !== 0 && pass.status !== 1) throw new Error(`rekey run failed (${pass.status}): ${pass.stderr}`);
    const usersFile = join(dir, 'console-users.yaml');
    await writeUsers(usersFile);
    const port = await freePort();
    serve = spawn(process.execPath, [main, 'serve', 'examples/pipelines', '--port', String(port), '--console-users', usersFile], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let serveLog = '';
    serve.stderr?.on('data', (b: Buffer) => (serveLog = (serveLog + b.toString()).slice(-4000)));
    serve.once('exit', (code) => code && process.stderr.write(`rekey serve exited with ${code}:\n${serveLog}`));
    const url = `http://localhost:${port}`;
    await waitForHealth(url, serve);
    await mkdir(images, { recursive: true });
    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });

    const viewer = await signedIn(browser, url, 'viewer');
    await viewer.goto(`${url}/pipelines`);
    await shot(viewer, 'pipelines');
    await viewer.close();

    const auditor = await signedIn(browser, url, 'auditor');
    await auditor.goto(`${url}/pipelines/${PIPELINE}`);
    await follow(auditor, '/passes/');
    await shot(auditor, 'pass');
    await auditor.goto(`${url}/submissions?q=${REFERENCE}`);
    await shot(auditor, 'submissions');
    await follow(auditor, `/submissions/${PIPELINE}/`);
    await shot(auditor, 'submission');
    await auditor.goto(`${url}/dead-letters`);
    await shot(auditor, 'dead-letters');
    await auditor.goto(`${url}/audit`);
    await Promise.all([auditor.waitForURL(/verify=started/), auditor.click('button:has-text("Verify now")')]);
    // The check runs in the background; reload until the page shows its result.
    for (let i = 0; i < 100 && (await auditor.locator('text=Verifying').count()) > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await auditor.goto(`${url}/audit`);
    }
    await shot(auditor, 'audit');
    await auditor.close();

    const operator = await signedIn(browser, url, 'operator');
    await operator.goto(`${url}/dead-letters`);
    await follow(operator, `/dead-letters/${PIPELINE}/`);
    await shot(operator, 'dead-letter');
    await operator.close();
  } finally {
    await browser?.close();
    if (serve && serve.exitCode === null) {
      const ended = new Promise((r) => serve!.once('exit', r));
      serve.kill('SIGTERM');
      await ended;
    }
    await rm(dir, { recursive: true, force: true });
  }
}

run().catch((e: unknown) => {
  process.stderr.write(`console-screenshots: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
