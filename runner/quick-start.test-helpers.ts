/** Test helpers: the README's quick start (change-of-address into SQLite), copied into a folder of its own. */
import { cpSync, mkdtempSync } from 'node:fs';
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
