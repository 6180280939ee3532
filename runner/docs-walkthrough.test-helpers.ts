/**
 * Test helpers that read a document's walk-through: its ```console blocks,
 * each a series of `$ rekey ...` commands, every one followed by the output
 * it prints. In an expected output, a placeholder in angle brackets
 * (`<time>`, `<run id>`, `<hash>`) stands for any text within its line, and
 * a line of only `...` for any number of lines.
 */

/** One command of a walk-through and the output the document promises. */
export interface WalkStep {
  /** The command as written, after `$ `. */
  command: string;
  /** Its words, quotes removed (`'...'` and `"..."` group words). */
  argv: string[];
  expected: string;
  /** The document's line of the command (1-based), for messages. */
  line: number;
}

const PLACEHOLDER = /<[a-z][a-z0-9 -]*>/g;

/** A command line's words: split at spaces outside single or double quotes. Throws on an unclosed quote. */
export function splitWords(command: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: string | null = null;
  for (const c of command) {
    if (quote) {
      if (c === quote) quote = null;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === ' ') {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? '') + c;
  }
  if (quote) throw new Error(`unclosed ${quote} in: ${command}`);
  if (word !== null) words.push(word);
  return words;
}

/** Every `$ ` command of the ```console blocks of `markdown`, in order, with the output written under it. */
export function walkSteps(markdown: string): WalkStep[] {
  const steps: WalkStep[] = [];
  let inConsole = false;
  let current: (WalkStep & { lines: string[] }) | null = null;
  const close = () => {
    if (current) steps.push({ command: current.command, argv: current.argv, expected: current.lines.map((l) => `${l}\n`).join(''), line: current.line });
    current = null;
  };
  markdown.split('\n').forEach((text, i) => {
    if (!inConsole) {
      inConsole = text.trim() === '```console';
      return;
    }
    if (text.trim() === '```') {
      close();
      inConsole = false;
    } else if (text.startsWith('$ ')) {
      close();
      const command = text.slice(2).trim();
      current = { command, argv: splitWords(command), expected: '', line: i + 1, lines: [] };
    } else if (current) current.lines.push(text);
  });
  return steps;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One expected line as a regular expression: literal text, placeholders as any text (`.+?`). */
function lineRegex(line: string): RegExp {
  let source = '';
  let last = 0;
  for (const m of line.matchAll(PLACEHOLDER)) {
    source += `${escape(line.slice(last, m.index))}.+?`;
    last = m.index + m[0].length;
  }
  return new RegExp(`^${source}${escape(line.slice(last))}$`);
}

/** Whether `actual` lines from `a` on match `expected` lines from `e` on (`...` matching any run of lines). */
function matchFrom(expected: readonly string[], actual: readonly string[], e: number, a: number): boolean {
  if (e === expected.length) return a === actual.length;
  if (expected[e] === '...') {
    for (let k = a; k <= actual.length; k++) if (matchFrom(expected, actual, e + 1, k)) return true;
    return false;
  }
  return a < actual.length && lineRegex(expected[e]!).test(actual[a]!) && matchFrom(expected, actual, e + 1, a + 1);
}

/** Whether `actual` output matches the document's `expected` output, line by line (trailing spaces and blank lines at the end aside). */
export function outputMatches(expected: string, actual: string): boolean {
  const lines = (t: string) => t.replace(/\s+$/, '').split('\n').map((l) => l.trimEnd());
  return matchFrom(lines(expected), lines(actual), 0, 0);
}
