/**
 * The console's Submissions pages over HTTP at 1,000,000 submissions (part
 * of `npm run bench -- console`, see console.bench.ts): a real Fastify
 * server with `registerConsole` over the seeded store, an auditor's API
 * token, and each page fetched whole (route, guard, query, Nunjucks
 * render, response body read) from the same process, timed as the
 * issue's 200 ms asks: median and 95th percentile.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { KeyRing } from '../lib/envelope.js';
import { AuditLog } from '../pipelines/audit/audit-log.js';
import { Ledger } from '../pipelines/ledger/ledger.js';
import type { StateStore } from '../pipelines/store/state-store.js';
import { registerConsole } from '../runner/console/console.js';
import { submissionHref } from '../runner/console/pages/submission.view.js';
import { submissionsPages } from '../runner/console/pages/submissions.pages.js';
import { checkUsers, tokenHash } from '../runner/console/users.js';
import { createLogger } from '../runner/logging.js';
import { Scheduler } from '../runner/serve/scheduler.js';
import { seededRow } from './console.bench.js';

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

/**
 * Starts the console over `store` (seeded by `seedMillion` with `n`
 * submissions), times each Submissions page `rounds` times after 3 untimed
 * fetches, and stops it. Throws when a page answers other than 200.
 */
export async function timeConsolePages(store: StateStore, n: number, rounds: number): Promise<PageTiming[]> {
  const token = `rk_bench_${randomBytes(16).toString('hex')}`;
  const users = checkUsers('bench users', { tokens: [{ name: 'bench', role: 'auditor', hash: `sha256:${tokenHash(token)}` }] });
  const log = createLogger({ level: 'silent', pretty: false });
  const audit = new AuditLog(store);
  const runtime = { store, audit, ledger: new Ledger(store, audit, new KeyRing(randomBytes(32))), close: async () => undefined };
  const scheduler = new Scheduler(log);
  const app = Fastify();
  registerConsole(app, { runtime, pipelines: [], scheduler, log, piiKey: randomBytes(32), users, pages: [submissionsPages] });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const fetchPage = async (path: string): Promise<string> => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const html = await res.text();
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    return html;
  };
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
      { name: 'list, 50th page via cursor', path: deep },
      { name: 'submission page, delivered', path: submissionHref(delivered.pipeline, delivered.key) },
      { name: 'submission page, dead', path: submissionHref(seededRow(dead).pipeline, seededRow(dead).key) },
    ];
    const out: PageTiming[] = [];
    for (const p of pages) {
      let bytes = 0;
      for (let k = 0; k < 3; k++) bytes = (await fetchPage(p.path)).length;
      const ms: number[] = [];
      for (let k = 0; k < rounds; k++) {
        const t = performance.now();
        await fetchPage(p.path);
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      out.push({ ...p, bytes, median: ms[Math.floor((ms.length - 1) / 2)]!, p95: ms[Math.min(ms.length - 1, Math.ceil(ms.length * 0.95) - 1)]! });
    }
    return out;
  } finally {
    await app.close();
    await scheduler.stop();
  }
}
