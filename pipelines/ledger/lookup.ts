/**
 * Finding one submission by any reference a person holds: the ledger key,
 * the form platform's reference (the key's last `/` part, as the default
 * key template `form_name/submission_reference` makes it), the legacy
 * system's reference, or the unambiguous start of any of them. Exact
 * matches win over prefixes, and the key over the other references.
 */
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import type { StateStore } from '../store/state-store.js';

/** How a reference matched its submission. */
export type MatchedBy = 'key' | 'reference' | 'legacy-ref' | 'prefix';

/** A submission a reference matched. */
export interface SubmissionMatch {
  key: string;
  state: string;
  legacyRef: string | null;
  by: MatchedBy;
}

/** Most matches listed in an ambiguity error (and fetched per step). */
const MAX_LISTED = 20;

/** `text` with LIKE's wildcards and the escape character escaped (ESCAPE '\'). */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

type Row = { key: string; state: string; legacy_ref: string | null };

/**
 * Every submission of `pipeline` that `reference` names, best kind of match
 * first: the exact key; else keys whose last `/` part is the reference (any
 * letter case), and rows whose legacy reference is it; else keys, form
 * references and legacy references that start with it (any letter case).
 * At most 21 are returned (enough to tell one from many).
 */
export async function matchSubmissions(store: StateStore, pipeline: string, reference: string): Promise<SubmissionMatch[]> {
  const ref = reference.trim();
  if (!ref) return [];
  const cols = 'key, state, legacy_ref';
  const limit = `ORDER BY key LIMIT ${MAX_LISTED + 1}`;
  const to = (by: MatchedBy) => (r: Row): SubmissionMatch => ({ key: r.key, state: r.state, legacyRef: r.legacy_ref, by });
  const exact = await store.select<Row>(`SELECT ${cols} FROM ledger WHERE pipeline = $1 AND key = $2`, [pipeline, ref]);
  if (exact.length) return exact.map(to('key'));
  const lit = likeLiteral(ref.toLowerCase());
  const byRef = await store.select<Row>(
    `SELECT ${cols} FROM ledger WHERE pipeline = $1 AND lower(key) LIKE $2 ESCAPE '\\' ${limit}`,
    [pipeline, `%/${lit}`],
  );
  const byLegacy = await store.select<Row>(`SELECT ${cols} FROM ledger WHERE pipeline = $1 AND legacy_ref = $2 ${limit}`, [pipeline, ref]);
  const exactish = dedupe([...byRef.map(to('reference')), ...byLegacy.map(to('legacy-ref'))]);
  if (exactish.length) return exactish;
  const prefix = await store.select<Row>(
    `SELECT ${cols} FROM ledger WHERE pipeline = $1 AND (lower(key) LIKE $2 ESCAPE '\\' OR lower(key) LIKE $3 ESCAPE '\\' OR lower(legacy_ref) LIKE $2 ESCAPE '\\') ${limit}`,
    [pipeline, `${lit}%`, `%/${lit}%`],
  );
  return prefix.map(to('prefix'));
}

function dedupe(matches: SubmissionMatch[]): SubmissionMatch[] {
  const seen = new Set<string>();
  return matches.filter((m) => !seen.has(m.key) && seen.add(m.key));
}

/**
 * The key of the one submission of `pipeline` that `reference` names (see
 * `matchSubmissions`). Throws `SUBMISSION_NOT_FOUND` when none matches and
 * `SUBMISSION_AMBIGUOUS`, listing up to 20 keys, when several do.
 */
export async function findSubmission(store: StateStore, pipeline: string, reference: string): Promise<SubmissionMatch> {
  const matches = await matchSubmissions(store, pipeline, reference);
  if (matches.length === 1) return matches[0]!;
  if (!matches.length) {
    throw new PipelineError(PipelineCodes.SUBMISSION_NOT_FOUND, `pipeline ${pipeline} holds no submission matching ${JSON.stringify(reference)} (by key, form reference, legacy reference or prefix)`);
  }
  const listed = matches.slice(0, MAX_LISTED).map((m) => `  ${m.key} (${m.state}${m.legacyRef ? `, legacy ref ${m.legacyRef}` : ''})`);
  const more = matches.length > MAX_LISTED ? '\n  ... and more' : '';
  throw new PipelineError(
    PipelineCodes.SUBMISSION_AMBIGUOUS,
    `${JSON.stringify(reference)} matches ${matches.length > MAX_LISTED ? `more than ${MAX_LISTED}` : matches.length} submissions of pipeline ${pipeline}; give one of:\n${listed.join('\n')}${more}`,
  );
}
