/**
 * What the report-a-death example tests share: the example copied into a
 * test's own folder, the fixture's personal values as canaries, and the scan
 * of everything a run wrote for them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { Canaries, scanBytes, scanSqlite, scanTree, type Leak } from '../pipelines/privacy/canary/canary.test-helpers.js';
import { root, type Run } from '../runner/cli.test-helpers.js';

export const FIXTURE = join(root, 'fixtures/submissions/govuk-forms/report-a-death.ndjson');

export interface ExampleRoute {
  route: string;
  mapping: string;
  target: { config: Record<string, unknown> };
}

/**
 * examples/pipelines/`example`.yaml written into `dir` with every path moved
 * there (legacy database, drop folder) or made absolute (fixture, mappings,
 * setup SQL); `adjust` changes a route's target config further. Returns the
 * file written.
 */
export function examineIn(dir: string, example: string, adjust: (route: ExampleRoute, config: Record<string, unknown>) => void = () => undefined): string {
  const def = parse(readFileSync(join(root, 'examples/pipelines', `${example}.yaml`), 'utf8')) as { source: { config: { path: string } }; routes: ExampleRoute[] };
  def.source.config.path = FIXTURE;
  for (const r of def.routes) {
    r.mapping = join(root, 'examples/mappings', r.mapping.split('/').pop()!);
    const c = r.target.config;
    if (typeof c.setupSql === 'string') c.setupSql = join(root, 'fixtures/legacy', c.setupSql.split('/').pop()!);
    if (typeof c.path === 'string') c.path = join(dir, 'legacy', 'report-a-death.sqlite');
    if (typeof c.folder === 'string') c.folder = join(dir, 'drop');
    adjust(r, c);
  }
  mkdirSync(join(dir, 'legacy'), { recursive: true });
  const file = join(dir, `${example}.yaml`);
  writeFileSync(file, stringify(def));
  return file;
}

/**
 * The fixture's personal values as canaries: for each question id, the
 * answer parts named in `parts` (6 characters or more). With `squashed`,
 * a value with spaces is a canary without them too (a target may drop them).
 */
export function fixtureCanaries(parts: Record<string, readonly string[]>, opts: { squashed?: boolean } = {}): Canaries {
  const canaries = new Canaries();
  for (const line of readFileSync(FIXTURE, 'utf8').split('\n').filter((l) => l.trim() !== '')) {
    const s = JSON.parse(line) as { submission_reference: string; answers: Record<string, unknown>[] };
    for (const a of s.answers) {
      for (const part of parts[String(a.question_id)] ?? []) {
        const v = a[part];
        if (typeof v !== 'string' || v.trim().length < 6) continue;
        canaries.add(`${String(a.question_id)}.${part} of ${s.submission_reference}`, v.trim());
        const squashed = v.replace(/\s+/g, '');
        if (opts.squashed && squashed !== v.trim() && squashed.length >= 6) canaries.add(`${String(a.question_id)}.${part} of ${s.submission_reference}, no spaces`, squashed);
      }
    }
  }
  return canaries;
}

/** The canaries found in the state store (the SQLite file `state` and everything under `stateDir`) and in the runs' output. */
export async function leaksOfRuns(canaries: Canaries, state: string, stateDir: string, runs: readonly Run[]): Promise<Leak[]> {
  return [
    ...(await scanSqlite(canaries, state, 'state.sqlite')),
    ...scanTree(canaries, stateDir).leaks,
    ...runs.flatMap((r, i) => [...scanBytes(canaries, `run ${i + 1} stdout`, Buffer.from(r.stdout)), ...scanBytes(canaries, `run ${i + 1} stderr`, Buffer.from(r.stderr))]),
  ];
}
