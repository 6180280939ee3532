import { describe, expect, it } from 'vitest';
import { positional } from './sqlite-exec.js';

describe('positional', () => {
  it('numbers $N as ?N, leaving quoted text and JSON paths as they are', () => {
    expect(positional("SELECT $1, '$2', 'it''s $3', b ->> '$.key' FROM t WHERE x = $12")).toBe("SELECT ?1, '$2', 'it''s $3', b ->> '$.key' FROM t WHERE x = ?12");
  });

  it('gives each statement its own text whether rewritten afresh or kept from before, past the number kept', () => {
    const sql = (n: number) => `INSERT INTO t (a, b) VALUES ${Array.from({ length: n }, (_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ')}`;
    const want = (n: number) => `INSERT INTO t (a, b) VALUES ${Array.from({ length: n }, (_, i) => `(?${2 * i + 1}, ?${2 * i + 2})`).join(', ')}`;
    // Over more statements than are kept, forwards then backwards and forwards again: each turn finds the statements
    // used last kept and rewrites the others afresh.
    const sizes = Array.from({ length: 100 }, (_, i) => i + 1);
    for (const [round, order] of [sizes, [...sizes].reverse(), sizes].entries()) for (const n of order) expect(positional(sql(n)), `${n} rows, round ${round}`).toBe(want(n));
    expect(positional(sql(3))).toBe(positional(sql(3)));
  });
});
