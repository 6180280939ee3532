/**
 * How deep JSON nests, measured without recursion, so that a record nested
 * ten thousand levels deep is refused where it enters (a reader, the
 * webhook intake, a staging row) before any recursive code (JSON.stringify,
 * structured clone to a worker, schema validation) can overflow the stack
 * on it. Depth counts arrays and objects: `1` and `"a"` are 0 deep, `{}`
 * and `[1]` 1 deep, `{"a":[{}]}` 3 deep. Pure.
 */

/** Default nesting limit of every source's records (XML elements, JSON arrays and objects). */
export const DEFAULT_MAX_DEPTH = 64;

/**
 * The highest nesting limit a source may be configured with. Far enough
 * below what V8's recursive JSON.stringify and structured clone survive
 * (about 4,400 and 1,600 levels on Node 24's default stack) that a record
 * at this depth goes through the whole flow.
 */
export const MAX_DEPTH_CEILING = 1000;

const QUOTE = 34, BSL = 92, LBRACE = 123, RBRACE = 125, LBRACK = 91, RBRACK = 93;

/**
 * Whether the JSON text `text` nests arrays and objects deeper than `max`.
 * Brackets inside strings do not count. Meant for text `JSON.parse`
 * accepts (or will be given); for other text it counts brackets the same way.
 */
export function jsonTextDeeperThan(text: string, max: number): boolean {
  const n = text.length;
  if (n <= max || fewOpenings(text, max)) return false;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === BSL) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === LBRACE || c === LBRACK) {
      if (++depth > max) return true;
    } else if (c === RBRACE || c === RBRACK) {
      depth--;
    }
  }
  return false;
}

/** Whether `text` holds at most `max` of `{` and `[` in all (strings included), so cannot nest deeper than `max`: a native search, much cheaper than the scan. */
function fewOpenings(text: string, max: number): boolean {
  let opens = 0;
  for (const bracket of ['{', '[']) {
    for (let i = text.indexOf(bracket); i !== -1; i = text.indexOf(bracket, i + 1)) if (++opens > max) return false;
  }
  return true;
}

/** Whether `value` (data as `JSON.parse` or a database driver gives it) nests arrays and objects deeper than `max`; walked without recursion. */
export function valueDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
