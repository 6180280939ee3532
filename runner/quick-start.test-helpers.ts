/** Test helpers: the README's quick start (change-of-address into SQLite), copied into a folder of its own. */
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './cli.test-helpers.js';

/** The quick start's pipeline, relative to the repository root (and to a copy's folder). */
export const QUICK_START = 'examples/pipelines/change-of-address.yaml';

/** The quick start's sample submissions, relative to the repository root (and to a copy's folder). */
export const QUICK_START_SUBMISSIONS = 'fixtures/submissions/govuk-forms/change-of-address.ndjson';

/** Every file the quick start reads, relative to the repository root. */
const FILES = [
  QUICK_START,
  'examples/mappings/change-of-address.yaml',
  'examples/mappings/change-of-address.cases.yaml',
  QUICK_START_SUBMISSIONS,
  'fixtures/legacy/drv_addr_chg.sqlite.sql',
];

/**
 * Copies the quick start's files into a new temporary folder, laid out as in
 * the repository, so `rekey run examples/pipelines/change-of-address.yaml`
 * run there keeps its state and legacy database in that folder's `.rekey/`.
 * Returns the folder.
 */
export function copyQuickStart(prefix = 'rekey-quick-start-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const f of FILES) cpSync(join(root, f), join(dir, f));
  return dir;
}

/**
 * Every value a citizen typed into the quick start's sample submissions (as
 * typed, upper-cased, without spaces), of four characters or more, but for
 * words the mapping's own text holds (`London` of `Europe/London`), which
 * lineage prints as rules. Tests search what rekey wrote for these.
 */
export function quickStartCanaries(): string[] {
  const rules = readFileSync(join(root, 'examples/mappings/change-of-address.yaml'), 'utf8');
  const values = new Set<string>();
  const walk = (v: unknown, name = ''): void => {
    if (Array.isArray(v)) return v.forEach((x) => walk(x));
    if (v && typeof v === 'object') return Object.entries(v).forEach(([k, x]) => walk(x, k));
    if (typeof v !== 'string' || v.length < 4 || ['question_id', 'question_text', 'form_name', 'submission_reference', 'language', 'submitted_at'].includes(name)) return;
    for (const form of [v, v.toUpperCase(), v.replace(/\s+/g, ''), v.toUpperCase().replace(/\s+/g, '')]) values.add(form);
  };
  for (const line of readFileSync(join(root, QUICK_START_SUBMISSIONS), 'utf8').split('\n').filter(Boolean)) walk((JSON.parse(line) as { answers: unknown }).answers);
  return [...values].filter((v) => !rules.includes(v));
}
