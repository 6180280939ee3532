/**
 * What `rekey record` may write of a value the clerk typed (or of text that
 * finds an element): each value is replaced by the `{{FIELD}}` of the
 * mapped record that produced it, and what is left must not be citizen
 * data. The rule, conservative on purpose: text left after templating is
 * written as it stands only when it was declared a literal, or when it
 * occurs nowhere in the submission or the mapped record and has none of
 * the shapes personal data takes (an email, a run of four digits, a
 * postcode, a National Insurance number, a date). Anything else is
 * withheld: never written, and replaced by a placeholder that names no
 * field, so the steps fail `rekey validate` until a person maps it.
 */

/** What the values are checked against. */
export interface Vocabulary {
  /** The mapped record, field by field, in mapping order. */
  record: Record<string, unknown>;
  /** Every text (string or number) of the submission as read (see {@link textsOf}). */
  submissionTexts: string[];
  /** Texts declared safe to write as they stand (`--literal`). */
  literals: string[];
}

/** A value as it is to be written. */
export interface Templated {
  /** The template: literal text and `{{FIELD}}` placeholders. */
  text: string;
  /** Fields it names. */
  fields: string[];
  /** Some of the value could be citizen data and is not in `text`. */
  withheld: boolean;
  /** The clerk typed a field's value in another case or spacing. */
  loose?: string;
}

const norm = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

const PII_SHAPES = [
  /[^\s@]+@[^\s@]+\.[^\s@]+/, // email
  /\d{4,}/, // a run of digits: phone, account, year, licence
  /\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b/i, // UK postcode
  /\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/i, // National Insurance number
  /\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b/, // a date
];

/** Checks values against a submission and its mapped record; remembers the fields used, to tell apart fields of equal value. */
export class ValueTemplater {
  private readonly used = new Set<string>();
  private readonly texts: string[];
  private readonly fields: [string, string][];

  constructor(private readonly vocab: Vocabulary) {
    this.fields = Object.entries(vocab.record)
      .filter(([, v]) => v !== undefined && v !== null && v !== '' && typeof v !== 'object')
      .map(([k, v]) => [k, String(v)]);
    this.texts = [...vocab.submissionTexts, ...this.fields.map(([, v]) => v)].map(norm).filter((t) => t.length >= 2);
  }

  /** Fields of the record no value named so far. */
  unused(): string[] {
    return Object.keys(this.vocab.record).filter((f) => !this.used.has(f));
  }

  /**
   * True when `text` may be written as it stands. A typed value (`typed`)
   * must also not be part of a text of the submission; the text of a label
   * or button may be (a label often repeats the form's question).
   */
  safe(text: string, typed = true): boolean {
    const t = norm(text);
    if (t === '' || this.vocab.literals.some((l) => norm(l) === t)) return true;
    if (PII_SHAPES.some((re) => re.test(text))) return false;
    const words = (s: string) => ` ${s.replace(/[^\p{L}\p{N}]+/gu, ' ')} `;
    const tw = words(t);
    return !this.texts.some((x) => x === t || (x.length >= 3 && tw.includes(words(x))) || (typed && t.length >= 3 && words(x).includes(tw)));
  }

  /**
   * `value` as a template: a whole field's value becomes `{{FIELD}}` (of
   * several fields of that value, the first not used yet whose name shares
   * a word with `hint`, else the first not used), a field's value inside it
   * is replaced in place (longest first, three characters or more), and
   * the rest is kept only when {@link safe} (`typed`: a value the clerk
   * typed; false for the text of a label or button). `secret` values are withheld
   * whatever they are.
   */
  template(value: string, opts: { hint?: string; secret?: boolean; typed?: boolean } = {}): Templated {
    const { hint = '', secret = false, typed = true } = opts;
    if (secret) return { text: '', fields: [], withheld: true };
    if (value === '') return { text: '', fields: [], withheld: false };
    const exact = this.pick(this.fields.filter(([, v]) => v === value).map(([k]) => k), hint);
    if (exact) return this.use({ text: `{{${exact}}}`, fields: [exact], withheld: false }, typed);
    const loose = this.pick(this.fields.filter(([, v]) => norm(v) === norm(value)).map(([k]) => k), hint);
    if (loose) return this.use({ text: `{{${loose}}}`, fields: [loose], withheld: false, loose }, typed);
    let text = value.replace(/\{\{|\}\}/g, '');
    const fields: string[] = [];
    for (const [k, v] of [...this.fields].filter(([, v]) => v.length >= 3).sort((a, b) => b[1].length - a[1].length)) {
      if (!text.includes(v)) continue;
      text = text.split(v).join(`\uE000${k}\uE001`);
      fields.push(k);
    }
    const rest = text.replace(/\uE000[A-Za-z0-9_]+\uE001/g, ' ');
    if (!this.safe(rest, typed)) return { text: '', fields: [], withheld: true };
    return this.use({ text: text.replace(/\uE000([A-Za-z0-9_]+)\uE001/g, '{{$1}}'), fields, withheld: false }, typed);
  }

  private pick(candidates: string[], hint: string): string | undefined {
    if (candidates.length <= 1) return candidates[0];
    const words = new Set(hint.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean));
    const score = (f: string) => (this.used.has(f) ? 0 : 100) + f.toLowerCase().split(/[^a-z0-9]+/).filter((w) => words.has(w)).length;
    return [...candidates].sort((a, b) => score(b) - score(a))[0];
  }

  private use(t: Templated, typed = true): Templated {
    if (typed) for (const f of t.fields) this.used.add(f);
    return t;
  }
}

/** Keys whose values are the form's own words, not the citizen's: question texts and ids, the form's name. */
const FORM_KEYS = /question|^form_?name$/i;

/** Every string and number in `body`, depth first, but for the form's own words (keys containing `question`, and `form_name`). */
export function textsOf(body: unknown, out: string[] = []): string[] {
  if (typeof body === 'string' || typeof body === 'number') out.push(String(body));
  else if (Array.isArray(body)) for (const v of body) textsOf(v, out);
  else if (body && typeof body === 'object') for (const [k, v] of Object.entries(body)) if (!FORM_KEYS.test(k)) textsOf(v, out);
  return out;
}
