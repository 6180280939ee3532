import { describe, expect, it } from 'vitest';
import { plainPlaceholders, sqliteError } from './sqlite-sync.js';

describe('plainPlaceholders', () => {
  it('makes numbered placeholders plain when they run 1, 2, 3 in order, each once', () => {
    expect(plainPlaceholders('INSERT INTO t VALUES (?1, ?2), (?3, ?4)')).toBe('INSERT INTO t VALUES (?, ?), (?, ?)');
  });

  it('leaves them numbered in any other order, or repeated', () => {
    expect(plainPlaceholders('SELECT ?2, ?1')).toBe('SELECT ?2, ?1');
    expect(plainPlaceholders('SELECT ?1 WHERE a = ?1')).toBe('SELECT ?1 WHERE a = ?1');
    expect(plainPlaceholders('SELECT ?1, ?3')).toBe('SELECT ?1, ?3');
  });

  it('leaves a quoted ?N alone', () => {
    expect(plainPlaceholders("SELECT '?7', ?1 FROM t WHERE x = 'it''s ?2'")).toBe("SELECT '?7', ? FROM t WHERE x = 'it''s ?2'");
  });
});

describe('sqliteError', () => {
  it('names the primary result code, extended codes included', () => {
    const busy = Object.assign(new Error('database is locked'), { errcode: 5 });
    expect(sqliteError(busy)).toMatchObject({ code: 'SQLITE_BUSY', errno: 5, message: 'SQLITE_BUSY: database is locked' });
    const unique = Object.assign(new Error('UNIQUE constraint failed: t.a'), { errcode: 2067 });
    expect(sqliteError(unique)).toMatchObject({ code: 'SQLITE_CONSTRAINT', message: 'SQLITE_CONSTRAINT: UNIQUE constraint failed: t.a' });
  });

  it('passes any other error on as it is', () => {
    const other = new TypeError('not a statement');
    expect(sqliteError(other)).toBe(other);
  });
});
