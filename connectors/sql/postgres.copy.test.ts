import { describe, expect, it } from 'vitest';
import { copyText } from './postgres.copy.js';

describe('COPY text format', () => {
  it('escapes backslash, tab, newline and carriage return; NULL is \\N', () => {
    expect(copyText('O\\BRIEN\tA\nB\rC')).toBe('O\\\\BRIEN\\tA\\nB\\rC');
    expect(copyText(null)).toBe('\\N');
    expect(copyText(undefined)).toBe('\\N');
    expect(copyText('\\N')).toBe('\\\\N');
  });
  it('writes booleans, numbers, bigints and dates as PostgreSQL reads them', () => {
    expect([copyText(true), copyText(false), copyText(12.5), copyText(10n ** 20n), copyText(new Date(Date.UTC(2024, 1, 1, 10)))]).toEqual(['t', 'f', '12.5', '100000000000000000000', '2024-02-01T10:00:00.000Z']);
  });
});
