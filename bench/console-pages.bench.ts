/**
 * The console's pages over HTTP at 1,000,000 submissions (part of `npm run
 * bench -- console`, see console.bench.ts): a real Fastify server with
 * `registerConsole` and every page module over the seeded store (ledger by
 * `seedMillion`, passes and audit log by `seedHistory`), an auditor's API
 * token, and each page fetched whole (route, guard, queries, Nunjucks
 * render, response body read) from the same process, timed as the issue's
 * 200 ms asks: median and 95th percentile. The Pipelines page is also
 * timed on its first load in a fresh console, before its counts are cached.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { KeyRing } from '../lib/envelope.js';
import { AuditLog } from '../pipelines/audit/audit-log.js';
import { Ledger } from '../pipelines/ledger/ledger.js';
import type { StateStore } from '../pipelines/store/state-store.js';
import { registerConsole } from '../runner/console/console.js';
import type { ConsolePipeline } from '../runner/console/context.js';
import { auditPagesWith } from '../runner/console/pages/audit.pages.js';
import { deadLetterPages, deadLetterPath } from '../runner/console/pages/dead-letters.pages.js';
import { pipelinePages } from '../runner/console/pages/pipelines.pages.js';
import { submissionHref } from '../runner/console/pages/submission.view.js';
import { submissionsPages } from '../runner/console/pages/submissions.pages.js';
import { checkUsers, tokenHash } from '../runner/console/users.js';
import { createLogger } from '../runner/logging.js';
import { loadPipelineFile } from '../runner/pipeline-files.js';
import { Scheduler } from '../runner/serve/scheduler.js';
import { SEEDED_PIPELINES, seededRow } from './console.bench.js';
import { seededPasses, seededRunId } from './console-history.bench.js';
import { repoRoot } from './mapping.bench.js';

/** One page's timing, in milliseconds. */
export interface PageTiming {
  name: string;
  path: string;
  median: number;
  p95: number;
  /** Bytes of HTML the page answered with. */
  bytes: number;
}

/** The href of the "Older" link on a list page, unescaped; undefined on the last page. */
function olderLink(html: string): string | undefined {
  const href = /<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="next"/.exec(html)?.[1];
  return href?.replace(/&amp;/g, '&');
}

/** Median and 95th percentile of `ms`. */
function stats(ms: number[]): { median: number; p95: number } {
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor((ms.length - 1) / 2)]!, p95: ms[Math.min(ms.length - 1, Math.ceil(ms.length * 0.95) - 1)]! };
}

/** The seeded pipelines as the console serves them: the quick start's definition under each seeded name. */
async function seededConsolePipelines(): Promise<ConsolePipeline[]> {
  const file = join(repoRoot(), 'examples/pipelines/change-of-address.yaml');
  const def = (await loadPipelineFile(file)).pipeline!.def;
  return SEEDED_PIPELINES.map((p) => ({ name: p.name, file, def: { ...def, pipeline: p.name, description: `Seeded ${p.form} submissions` } }));
}

/**
 * Starts the console over `store` (seeded by `seedMillion` and
 * `seedHistory` with `n` submissions), times each page `rounds` times
 * after 3 untimed fetches, and the Pipelines page's first load in
 * `firstLoads` fresh consoles, then stops. Throws when a page answers
 * other than 200.
 */
export async function timeConsolePages(store: StateStore, n: number, rounds: number, firstLoads = 10): Promise<PageTiming[]> {
  const token = `rk_bench_${randomBytes(16).toString('hex')}`;
  const users = checkUsers('bench users', { tokens: [{ name: 'bench', role: 'auditor', hash: `sha256:${tokenHash(token)}` }] });
  const log = createLogger({ level: 'silent', pretty: false });
  const audit = new AuditLog(store);
  const runtime = { store, audit, ledger: new Ledger(store, audit, new KeyRing(randomBytes(32))), close: async () => undefined };
  const pipelines = await seededConsolePipelines();
  const modules = [pipelinePages, submissionsPages, deadLetterPages, auditPagesWith({})];
  const start = async () => {
    const scheduler = new Scheduler(log);
    const app = Fastify();
    registerConsole(app, { runtime, pipelines, scheduler, log, piiKey: randomBytes(32), users, pages: modules });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    return { base, stop: async () => (await app.close(), await scheduler.stop()) };
  };
  const get = async (base: string, path: string): Promise<string> => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const html = await res.text();
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    return html;
  };
  const out: PageTiming[] = [];
  // The Pipelines page as the first request of a fresh console (counts not cached); the very first
  // request of this process (Fastify, undici and the page's code not yet compiled by V8) apart.
  const firstOfProcess = await start();
  try {
    const t = performance.now();
    const bytes = (await get(firstOfProcess.base, '/pipelines')).length;
    const ms = performance.now() - t;
    out.push({ name: 'pipelines, first request of the process', path: '/pipelines', bytes, median: ms, p95: ms });
  } finally {
    await firstOfProcess.stop();
  }
  const first: number[] = [];
  let firstBytes = 0;
  for (let k = 0; k < firstLoads; k++) {
    const fresh = await start();
    try {
      const t = performance.now();
      firstBytes = (await get(fresh.base, '/pipelines')).length;
      first.push(performance.now() - t);
    } finally {
      await fresh.stop();
    }
  }
  out.push({ name: 'pipelines, first load of a fresh console', path: '/pipelines', bytes: firstBytes, ...stats(first) });
  const { base, stop } = await start();
  const fetchPage = (path: string) => get(base, path);
  try {
    let mid = Math.floor(n / 2);
    const target = seededRow(mid);
    while (seededRow(mid).state !== 'delivered') mid++;
    const delivered = seededRow(mid);
    let dead = Math.floor(n / 3);
    while (seededRow(dead).state !== 'dead') dead++;
    const formRef = target.key.slice(target.key.lastIndexOf('/') + 1);
    const day = target.updatedAt.slice(0, 10);
    const weekLater = new Date(Date.parse(day) + 6 * 86_400_000).toISOString().slice(0, 10);
    let deep = '/submissions';
    for (let k = 1; k < 50; k++) deep = olderLink(await fetchPage(deep)) ?? deep;
    const pages: Array<{ name: string; path: string }> = [
      { name: 'list, first page', path: '/submissions' },
      { name: 'list, pipeline + state (parking-permits, rejected)', path: '/submissions?pipeline=parking-permits&state=rejected' },
      { name: 'list, states dead + rejected', path: '/submissions?state=dead&state=rejected' },
      { name: 'list, a week of last changes', path: `/submissions?from=${day}&to=${weekLater}` },
      { name: 'search, form reference in lower case', path: `/submissions?q=${encodeURIComponent(formRef.toLowerCase())}` },
      { name: 'search, legacy reference', path: `/submissions?q=${encodeURIComponent(delivered.legacyRef!)}` },
      { name: 'search, key prefix (6 characters)', path: `/submissions?q=${encodeURIComponent(target.key.slice(0, target.key.indexOf('/') + 7))}` },
      { name: 'search, one character (whole references only)', path: '/submissions?q=b' },
      { name: 'search, a prefix of half the ledger (benefit-claim/)', path: `/submissions?q=${encodeURIComponent('benefit-claim/')}` },
      { name: 'search, a prefix of about 500 (5 characters)', path: `/submissions?q=${encodeURIComponent(formRef.slice(0, 5).toLowerCase())}` },
      { name: 'list, 50th page via cursor', path: deep },
      { name: 'submission page, delivered', path: submissionHref(delivered.pipeline, delivered.key) },
      { name: 'submission page, dead', path: submissionHref(seededRow(dead).pipeline, seededRow(dead).key) },
    ];
    const passes = [...seededPasses(n)];
    const middle = passes[Math.floor(passes.length / 2)]!;
    let problem = Math.floor(passes.length / 2);
    while (!passes[problem]!.rows.some((i) => ['rejected', 'dead'].includes(seededRow(i).state))) problem++;
    const problemPass = passes[problem]!;
    const early = passes.find((p) => p.pipeline === 'benefit-claims' && p.j === 300)!;
    const olderPasses = (html: string) => /href="(\/pipelines\/[^"]+\?before=[^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
    let deepPasses = `/pipelines/${middle.pipeline}`;
    for (let k = 1; k < 50; k++) deepPasses = olderPasses(await fetchPage(deepPasses)) ?? deepPasses;
    const olderDead = (html: string) => /href="(\/dead-letters\?[^"]*after=[^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
    let deepDead = '/dead-letters';
    for (let k = 1; k < 50; k++) deepDead = olderDead(await fetchPage(deepDead)) ?? deepDead;
    pages.push(
      { name: 'pipelines, counts cached', path: '/pipelines' },
      { name: 'pipeline page (benefit-claims), newest passes', path: '/pipelines/benefit-claims' },
      { name: 'pipeline page, 50th page of passes', path: deepPasses },
      { name: 'pipeline page, passes of the first month (cursor)', path: `/pipelines/${early.pipeline}?before=${encodeURIComponent(`${new Date(seededRow(early.rows.at(-1)!).createdAt).toISOString()}|${seededRunId(early.pipeline, early.j)}`)}` },
      { name: 'pass page, with rejections or dead letters', path: `/passes/${seededRunId(problemPass.pipeline, problemPass.j)}` },
      { name: 'pass page, middle of the year', path: `/passes/${seededRunId(middle.pipeline, middle.j)}` },
      { name: 'dead letters, first page', path: '/dead-letters' },
      { name: 'dead letters, pipeline (parking-permits)', path: '/dead-letters?pipeline=parking-permits' },
      { name: 'dead letters, state dead', path: '/dead-letters?state=dead' },
      { name: 'dead letters, pipeline + state failed', path: '/dead-letters?pipeline=licence-renewals&state=failed' },
      { name: 'dead letters, 50th page', path: deepDead },
      { name: 'dead letter page', path: deadLetterPath(seededRow(dead).pipeline, seededRow(dead).key) },
      { name: 'audit', path: '/audit' },
    );
    for (const p of pages) {
      let bytes = 0;
      for (let k = 0; k < 3; k++) bytes = (await fetchPage(p.path)).length;
      const ms: number[] = [];
      for (let k = 0; k < rounds; k++) {
        const t = performance.now();
        await fetchPage(p.path);
        ms.push(performance.now() - t);
      }
      out.push({ ...p, bytes, ...stats(ms) });
    }
    return out;
  } finally {
    await stop();
  }
}
