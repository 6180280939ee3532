/**
 * Durations as people write them in pipeline files: `30s`, `5m`, `1h`,
 * `2d`, `500ms`, or parts together such as `1h30m`. Pure.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** The example shown when a duration cannot be read. */
export const DURATION_HINT = 'a duration like 30s, 5m, 1h or 2d';

/** The JSON Schema pattern of a duration, for editors. */
export const DURATION_PATTERN = '^(\\d+(\\.\\d+)?(ms|s|m|h|d))+$';

/**
 * Milliseconds of `text` (whole, rounded), or undefined when it is not one
 * or more `<number><unit>` parts with unit ms, s, m, h or d. A bare number
 * is refused: its unit would be a guess.
 */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0) return undefined;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    pos = PART.lastIndex;
  }
  return Math.round(total);
}

/** Writes milliseconds the way `parseDuration` reads them, largest units first: `1h30m`, `250ms`, `0s`. */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit] as number;
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || '0s';
}
