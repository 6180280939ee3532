/**
 * A stored mapping version read back for people: the canonical text
 * (`{document, related, functions}`, whose sha256 is the version) parsed,
 * and rendered as YAML in the order the language page documents, with the
 * lookup files and the functions module it was hashed with. Pure.
 */
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { Document, isMap, isScalar, isSeq, visit } from 'yaml';
import { CodedError } from '../lib/errors.js';
import { MappingErrors } from './mapping.errors.js';

/** A stored version's parts: the mapping document, lookup files by relative name, the functions module's source. */
export interface StoredMapping {
  document: Record<string, unknown>;
  related: Record<string, string>;
  functions: string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses a stored canonical text. `label` names it in messages. Throws
 * `MAPPING_TEXT_INVALID` when it is not JSON with a `document` object (and,
 * if present, `related` text files and a `functions` text or null).
 */
export function parseStoredMapping(text: string, label = 'stored mapping'): StoredMapping {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CodedError(MappingErrors.TEXT_INVALID, `${label} is not JSON`);
  }
  const doc = isObj(parsed) ? parsed.document : undefined;
  if (!isObj(parsed) || !isObj(doc)) throw new CodedError(MappingErrors.TEXT_INVALID, `${label} has no "document" object`);
  const related = parsed.related ?? {};
  if (!isObj(related) || Object.values(related).some((v) => typeof v !== 'string')) {
    throw new CodedError(MappingErrors.TEXT_INVALID, `${label} has "related" that is not an object of file texts`);
  }
  const functions = parsed.functions ?? null;
  if (functions !== null && typeof functions !== 'string') throw new CodedError(MappingErrors.TEXT_INVALID, `${label} has "functions" that is not text`);
  return { document: doc, related: related as Record<string, string>, functions };
}

const TOP = ['mapping', 'description', 'key', 'functions', 'tests', 'questions', 'lookups', 'fields', 'groups', 'rules'];
const FIELD = ['description', 'from', 'answer', 'const', 'template', 'function', 'when', 'transform', 'default', 'required', 'pii', 'validate'];
const GROUP = ['each', 'min', 'max', 'fields'];
const LOOKUP = ['values', 'file', 'keyColumn', 'valueColumn', 'missing', 'default', 'caseInsensitive'];
const RULE = ['rule', 'when', 'assert', 'message', 'fields'];
const VALIDATE = ['pattern', 'length', 'enum', 'range', 'message'];
const CONDITION = ['all', 'any', 'not', 'path', 'answer', 'field'];
const FLOW = new Set(['transform', 'when', 'assert', 'validate', 'each']);

/** `o` with the keys in `order` first, in that order, then the rest as they come. */
function ordered(o: unknown, order: readonly string[]): unknown {
  if (!isObj(o)) return o;
  const out: Obj = {};
  for (const k of order) if (k in o) out[k] = o[k];
  for (const k of Object.keys(o)) if (!(k in out)) out[k] = o[k];
  return out;
}

/** A condition with its operand before its operator, at every level. */
function condition(c: unknown): unknown {
  const out = ordered(c, CONDITION);
  if (!isObj(out)) return out;
  if (Array.isArray(out.all)) out.all = out.all.map(condition);
  if (Array.isArray(out.any)) out.any = out.any.map(condition);
  if ('not' in out) out.not = condition(out.not);
  return out;
}

function field(f: unknown): unknown {
  const out = ordered(f, FIELD);
  if (isObj(out) && 'when' in out) out.when = condition(out.when);
  if (isObj(out) && 'validate' in out) out.validate = ordered(out.validate, VALIDATE);
  return out;
}

const mapValues = (o: unknown, f: (v: unknown) => unknown): unknown => (isObj(o) ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)])) : o);

/** The document with its keys in the documented order (field and group names stay as stored). */
function readable(doc: Obj): Obj {
  const out = ordered(doc, TOP) as Obj;
  if ('fields' in out) out.fields = mapValues(out.fields, field);
  if ('groups' in out) {
    out.groups = mapValues(out.groups, (g) => {
      const x = ordered(g, GROUP);
      if (isObj(x) && 'fields' in x) x.fields = mapValues(x.fields, field);
      return x;
    });
  }
  if ('lookups' in out) out.lookups = mapValues(out.lookups, (l) => ordered(l, LOOKUP));
  if (Array.isArray(out.rules)) {
    out.rules = out.rules.map((r) => {
      const x = ordered(r, RULE);
      if (isObj(x) && 'when' in x) x.when = condition(x.when);
      if (isObj(x) && 'assert' in x) x.assert = condition(x.assert);
      return x;
    });
  }
  return out;
}

function yamlText(value: unknown, comment?: string): string {
  const doc = new Document(value);
  visit(doc, {
    Pair(_, pair) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '';
      if (FLOW.has(k) && (isMap(pair.value) || isSeq(pair.value))) pair.value.flow = true;
    },
    Seq(_, seq) {
      if (seq.items.every((i) => isScalar(i))) seq.flow = true;
    },
  });
  if (comment !== undefined) doc.commentBefore = comment;
  return doc.toString({ lineWidth: 0, blockQuote: 'literal' });
}

/**
 * A stored version as YAML for people: the mapping (keys in the order of
 * the language page; field names in name order, as the canonical text
 * keeps them; comments were never stored), then one document per lookup
 * file and one for the functions module, each named. With `version`, a
 * first comment line names it. Equal texts give equal YAML, so a line
 * diff of two renderings shows exactly what changed.
 */
export function storedMappingYaml(text: string, opts: { version?: string; label?: string } = {}): string {
  const stored = parseStoredMapping(text, opts.label ?? opts.version ?? 'stored mapping');
  const name = typeof stored.document.mapping === 'string' ? stored.document.mapping : '?';
  const head = opts.version !== undefined ? ` mapping ${name}, version ${opts.version}` : undefined;
  let out = yamlText(readable(stored.document), head);
  for (const file of Object.keys(stored.related).sort()) {
    out += `---\n${yamlText({ file, text: stored.related[file] }, ' lookup file, as read for this version')}`;
  }
  if (stored.functions !== null) {
    const file = typeof stored.document.functions === 'string' ? stored.document.functions : '(functions module)';
    out += `---\n${yamlText({ file, text: stored.functions }, ' functions module source, as read for this version')}`;
  }
  return out;
}

/**
 * A unified diff (3 lines of context) between two stored versions' YAML
 * renderings, headed `--- <old version>` and `+++ <new version>`; empty
 * when they render the same. Throws as {@link parseStoredMapping} does.
 */
export function storedMappingDiff(oldText: string, oldVersion: string, newText: string, newVersion: string): string {
  const a = storedMappingYaml(oldText, { label: oldVersion });
  const b = storedMappingYaml(newText, { label: newVersion });
  if (a === b) return '';
  return createTwoFilesPatch(oldVersion, newVersion, a, b, undefined, undefined, { context: 3, headerOptions: FILE_HEADERS_ONLY });
}
