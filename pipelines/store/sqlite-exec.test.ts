import { describe, expect, it } from 'vitest';
import { positional } from './sqlite-exec.js';

describe('positional', () => {
  it('numbers $N as ?N, leaving quoted text and JSON paths as they are', () => {
    expect(positional("SELECT $1, '$2', 'it''s $3', b ->> '$.key' FROM t WHERE x = $12")).toBe("SELECT ?1, '$2', 'it''s $3', b ->> '$.key' FROM t WHERE x = ?12");
  });

  it('gives each statement its own text whether rewritten afresh or kept from before, past the number kept', () => {
    const sql = (n: number) => `INSERT INTO t (a, b) VALUES ${Array.from({ length: n }, (_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ')}`;
    const want = (n: number) => `INSERT INTO t (a, b) VALUES ${Array.from({ length: n }, (_, i) => `(?${2 * i + 1}, ?${2 * i + 2})`).join(', ')}`;
    // Three rounds over more statements than are kept: the first rewrites, the later ones find some kept and some evicted.
    for (let round = 0; round < 3; round++) for (let n = 1; n <= 100; n++) expect(positional(sql(n)), `${n} rows, round ${round}`).toBe(want(n));
    expect(positional(sql(3))).toBe(positional(sql(3)));
  });
});
