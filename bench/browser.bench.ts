/**
 * The browser target against the legacy app fixture (no chaos): forms keyed
 * per minute with 1, 2, 4 and 8 contexts (REKEY_BENCH_CONTEXTS to change),
 * REKEY_BENCH_FORMS forms per configuration (default 40). rekey runs the
 * example pipeline as `rekey run` does (pipeline file loaded, runPass with
 * the SQLite ledger and audit log; read-back off, since the hand-written
 * script does not read back); the practical limit is a plain hand-written
 * Playwright script doing the same steps over the same number of contexts,
 * on records mapped beforehand. Both times include launching Chromium and
 * signing in; the pipeline file is loaded once untimed first (the pipeline
 * schema is compiled on first use, once per process). Evidence as the
 * target's default (traces of retries only; REKEY_BENCH_TRACES=always|off to
 * change). Peak memory: RSS of this process and of every process under it
 * (the Chromium processes), sampled from /proc; CPU: the machine's busy share
 * over the run, from /proc/stat.
 */
import { procMemory } from './rekey-process.js';
import { benchPassOptions } from './pass-options.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright';
import { parse, stringify } from 'yaml';
import { launchChromium } from '../connectors/browser/chromium.js';
import { DEFAULT_USER, startLegacyApp, type LegacyApp } from '../fixtures/legacy-app/legacy-app.js';
import { exportRows, manySubmissions } from '../fixtures/legacy-app/legacy-app.submissions.js';
import { loadMappingFile } from '../runner/mapping-files.js';
import { loadPipelineFile } from '../runner/pipeline-files.js';
import { flowPipeline } from '../pipelines/flow/flow-pipeline.js';
import { openRuntime } from '../runner/runtime.js';
import { runPass } from '../pipelines/flow/pass.js';
import { repoRoot } from './mapping.bench.js';

const MB = 1024 * 1024;
const PIPELINE = 'examples/pipelines/browser-change-of-address.yaml';
const MAPPING = 'examples/mappings/browser-change-of-address.yaml';

/** One configuration's figures. */
interface BrowserFigure {
  name: string;
  contexts: number;
  forms: number;
  seconds: number;
  formsPerMinute: number;
  msPerForm: number;
  peakRssMb: number;
  /** Share of the machine's CPU time (all cores) that was busy during the run, from /proc/stat. */
  cpuBusy: number;
}

/** Busy and total CPU time of the whole machine so far (clock ticks, all cores). */
function cpuTicks(): { busy: number; total: number } {
  const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const n = f.map(Number);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - n[3]! - n[4]!, total };
}

/** RSS of this process and all its descendants (bytes). */
function treeRss(): number {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* the process ended */
    }
  }
  let total = 0;
  const todo = [process.pid];
  while (todo.length) {
    const pid = todo.pop()!;
    total += procMemory(pid, 'VmRSS');
    todo.push(...(children.get(pid) ?? []));
  }
  return total;
}

async function measured(name: string, contexts: number, forms: number, run: () => Promise<number>): Promise<BrowserFigure> {
  let peak = treeRss();
  const sampler = setInterval(() => (peak = Math.max(peak, treeRss())), 250);
  const cpu0 = cpuTicks();
  const t0 = process.hrtime.bigint();
  const done = await run().finally(() => clearInterval(sampler));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = cpuTicks();
  if (done !== forms) throw new Error(`${name}: keyed ${done} of ${forms}`);
  const cpuBusy = Number(((cpu1.busy - cpu0.busy) / Math.max(1, cpu1.total - cpu0.total)).toFixed(2));
  return { name, contexts, forms, seconds, formsPerMinute: (forms * 60) / seconds, msPerForm: (seconds * 1000) / forms, peakRssMb: Math.round(peak / MB), cpuBusy };
}

function pipelineFile(dir: string, input: string, contexts: number): string {
  const def = parse(readFileSync(join(repoRoot(), PIPELINE), 'utf8')) as Record<string, Record<string, unknown>>;
  const cfg = def.target!.config as Record<string, unknown>;
  delete cfg.readBack;
  const traces = process.env.REKEY_BENCH_TRACES;
  Object.assign(cfg, { contexts, evidence: { folder: join(dir, 'evidence'), ...(traces && { traces }) } });
  Object.assign(def, {
    pipeline: `bench-browser-${contexts}`,
    mapping: join(repoRoot(), MAPPING),
    source: { kind: 'file', config: { path: input } },
    batch: { size: 10 },
    limits: { concurrency: 2 },
  });
  const file = join(dir, `browser-${contexts}.yaml`);
  writeFileSync(file, stringify(def));
  return file;
}

async function rekeyRun(dir: string, input: string, contexts: number): Promise<number> {
  const loaded = await loadPipelineFile(pipelineFile(dir, input, contexts));
  if (!loaded.pipeline) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  const runtime = await openRuntime(`sqlite:${join(dir, `state-${contexts}.sqlite`)}`);
  try {
    const r = await runPass(flowPipeline(loaded.pipeline), runtime.ledger, benchPassOptions());
    if (r.failed || r.dead || r.rejected) {
      const bad = await runtime.ledger.list(loaded.pipeline.def.pipeline, { states: ['failed', 'dead', 'rejected'], limit: 5 });
      throw new Error(`rekey, ${contexts} contexts: ${bad.map((b) => `${b.key}: ${b.lastError?.code}: ${b.lastError?.message}`).join('; ')}`);
    }
    return r.delivered;
  } finally {
    await runtime.close();
  }
}

type Rec = Record<string, unknown>;
const s = (v: unknown) => (v === undefined || v === null ? '' : String(v));

async function handKey(page: Page, r: Rec): Promise<string> {
  await page.goto('/cases/new?fresh=1');
  if (s(r.TITLE)) await page.getByLabel('Title', { exact: true }).selectOption(s(r.TITLE));
  await page.getByLabel('Forenames', { exact: true }).fill(s(r.FORENAMES));
  await page.getByLabel('Surname', { exact: true }).fill(s(r.SURNAME));
  await page.getByLabel('Driving licence number', { exact: true }).fill(s(r.DRIVER_NO));
  await page.locator('[name="dob_day"]').selectOption(s(r.DOB_DAY));
  await page.locator('[name="dob_month"]').selectOption(s(r.DOB_MONTH));
  await page.locator('[name="dob_year"]').selectOption(s(r.DOB_YEAR));
  await page.getByLabel('Email', { exact: true }).fill(s(r.EMAIL));
  await page.getByRole('button', { name: 'Continue', exact: true }).click();
  await page.locator('#address-frame').waitFor();
  const frame = page.frameLocator('#address-frame');
  await frame.getByLabel('Address line 1', { exact: true }).fill(s(r.ADDR_1));
  await frame.getByLabel('Address line 2', { exact: true }).fill(s(r.ADDR_2));
  await frame.getByLabel('Town', { exact: true }).fill(s(r.TOWN));
  await frame.getByLabel('Postcode', { exact: true }).fill(s(r.POSTCODE));
  const [popup] = await Promise.all([page.waitForEvent('popup'), frame.getByRole('button', { name: 'Find address', exact: true }).click()]);
  await popup.locator('button').first().click().catch((e: unknown) => {
    if (!popup.isClosed()) throw e;
  });
  if (!popup.isClosed()) await popup.waitForEvent('close');
  await frame.getByRole('button', { name: 'Continue', exact: true }).click();
  await page.getByText('Supporting document').first().waitFor();
  await page.getByLabel('Supporting document', { exact: true }).setInputFiles({ name: `${s(r.WEB_REF)}.txt`, mimeType: 'text/plain', buffer: Buffer.from(`Change of address ${s(r.WEB_REF)}`) });
  await page.getByRole('button', { name: 'Continue', exact: true }).click();
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Save case', exact: true }).click();
  const ref = ((await page.locator('#case-ref').textContent()) ?? '').trim();
  if (!/^DCS-\d+$/.test(ref)) throw new Error(`no case reference for ${s(r.WEB_REF)}`);
  return ref;
}

async function handWritten(app: LegacyApp, records: Rec[], contexts: number): Promise<number> {
  const browser = await launchChromium();
  let next = 0;
  let keyed = 0;
  try {
    await Promise.all(
      Array.from({ length: contexts }, async () => {
        const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, baseURL: app.url });
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        await page.goto('/login');
        await page.getByLabel('User ID', { exact: true }).fill(DEFAULT_USER.username);
        await page.getByLabel('Password', { exact: true }).fill(DEFAULT_USER.password);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.locator('#who').waitFor();
        while (next < records.length) {
          await handKey(page, records[next++]!);
          keyed++;
        }
        await context.close();
      }),
    );
  } finally {
    await browser.close();
  }
  return keyed;
}

/** Runs the browser benchmark: `forms` forms per configuration at each of `contextCounts`. */
export async function browserBench(forms = 40, contextCounts = [1, 2, 4, 8]): Promise<Record<string, unknown>> {
  const base = mkdtempSync(join(process.env.REKEY_BENCH_DIR ?? tmpdir(), 'rekey-bench-browser-'));
  const mapping = (await loadMappingFile(join(repoRoot(), MAPPING))).compiled;
  if (!mapping) throw new Error(`${MAPPING} does not compile`);
  const rows = exportRows(repoRoot(), (b) => mapping.map(b).ok);
  const figures: BrowserFigure[] = [];
  const ratios: Record<string, number> = {};
  try {
    for (const n of contextCounts) {
      const subs = manySubmissions(rows, forms);
      const input = join(base, `input-${n}.ndjson`);
      writeFileSync(input, subs.map((b) => JSON.stringify(b)).join('\n') + '\n');
      const app = await startLegacyApp();
      Object.assign(process.env, { DCS_URL: app.url, DCS_USER: DEFAULT_USER.username, DCS_PASSWORD: DEFAULT_USER.password });
      try {
        const dir = mkdtempSync(join(base, 'run-'));
        if (!figures.length) await loadPipelineFile(pipelineFile(dir, input, n));
        const rekey = await measured(`rekey, ${n} context${n > 1 ? 's' : ''} (pipeline file, runPass, ledger and audit)`, n, forms, () => rekeyRun(dir, input, n));
        if (app.store.cases.length !== forms) throw new Error(`rekey: the app holds ${app.store.cases.length} cases, not ${forms}`);
        app.store.cases.splice(0);
        const records = subs.map((b) => mapping.map(b).record);
        const hand = await measured(`hand-written Playwright, ${n} context${n > 1 ? 's' : ''}`, n, forms, () => handWritten(app, records, n));
        if (app.store.cases.length !== forms) throw new Error(`hand-written: the app holds ${app.store.cases.length} cases, not ${forms}`);
        figures.push(rekey, hand);
        ratios[`rekeyVsHandWrittenPerForm${n}`] = rekey.msPerForm / hand.msPerForm;
      } finally {
        await app.close();
      }
    }
    const one = figures.find((f) => f.contexts === contextCounts[0] && f.name.startsWith('rekey'));
    for (const f of figures.filter((x) => x.name.startsWith('rekey') && x !== one)) ratios[`rekeyScaling${f.contexts}vs${one?.contexts}`] = f.formsPerMinute / (one?.formsPerMinute ?? 1);
    return {
      benchmark: 'browser',
      cpus: (await import('node:os')).cpus().length,
      figures: figures.map((f) => ({ ...f, records: f.forms, perSecond: f.forms / f.seconds })),
      ratios,
      goals: { rekeyVsHandWrittenPerForm: '<= 1.25', scaling: 'forms/min grows with contexts until the CPU is full' },
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
