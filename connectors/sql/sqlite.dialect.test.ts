import { describe, expect, it } from 'vitest';
import sqlite3 from 'sqlite3';
import { sqliteDialect } from './sqlite.dialect.js';

const AFFINITIES = ['T TEXT', 'I INTEGER', 'R REAL', 'M NUMERIC', 'A'];
const COLUMNS = AFFINITIES.map((c) => c.split(' ')[0] as string);

function db(): Promise<sqlite3.Database> {
  return new Promise((ok, ko) => {
    const d = new sqlite3.Database(':memory:', (e) => (e ? ko(e) : ok(d)));
  });
}
const run = (d: sqlite3.Database, sql: string, params: readonly unknown[] = []) => new Promise<void>((ok, ko) => d.run(sql, [...params], (e: Error | null) => (e ? ko(e) : ok())));
const all = (d: sqlite3.Database, sql: string, params: readonly unknown[] = []) =>
  new Promise<Record<string, unknown>[]>((ok, ko) => d.all(sql, [...params], (e: Error | null, rows: unknown[]) => (e ? ko(e) : ok(rows as Record<string, unknown>[]))));

/** What each column holds after inserting `value` into every column: through the dialect's INSERT, and bound one parameter per value. */
async function stored(value: unknown): Promise<{ dialect: unknown[]; bound: unknown[]; packed: boolean }> {
  const d = await db();
  for (const t of ['VIA_DIALECT', 'VIA_BIND']) await run(d, `CREATE TABLE ${t} (K TEXT NOT NULL UNIQUE, ${AFFINITIES.join(', ')})`);
  const row = [...COLUMNS.map(() => sqliteDialect.toDb(value as never)), 'k1'];
  const { sql, params } = sqliteDialect.insertSkippingKeys('VIA_DIALECT', [...COLUMNS, 'K'], [row], 'K');
  await run(d, sql, params);
  await run(d, `INSERT INTO VIA_BIND (${COLUMNS.join(', ')}, K) VALUES (${row.map((_, i) => `?${i + 1}`).join(', ')})`, row.map((v) => (typeof v === 'bigint' ? String(v) : v)));
  const read = async (t: string) => Object.values((await all(d, `SELECT ${COLUMNS.map((c) => `typeof(${c}) || ':' || quote(${c})`).join(', ')} FROM ${t}`))[0] ?? {});
  const out = { dialect: await read('VIA_DIALECT'), bound: await read('VIA_BIND'), packed: sql.includes('jsonb_each') };
  await new Promise((ok) => d.close(ok));
  return out;
}

describe('sqlite dialect: rows packed in one JSON parameter', () => {
  const values: [string, unknown, boolean][] = [
    ['text', 'Ní Bhriain', true],
    ['numeric text', '0042', true],
    ['an empty string', '', true],
    ['escapes', 'tab\t"quoted" back\\slash\nnew line \u0000 nul', true],
    ['unicode', 'Zoë Ĳssel 😀 \u2028', true],
    ['a 2 kB string', 'x'.repeat(2048), true],
    ['an unpaired surrogate', 'a\ud800b', false],
    ['a backslash before ud800 (packed text would look unpaired)', '\\ud800', false],
    ['null', null, true],
    ['a 32-bit integer', -2147483648, true],
    ['minus zero', -0, true],
    ['a larger integer', 3_000_000_000, false],
    ['a float', 0.1, false],
    ['an integral float beyond 2^53', 49349228934454820, false],
    ['infinity', Infinity, false],
    ['NaN', NaN, false],
    ['true', true, true],
    ['false', false, true],
    ['a date', new Date('2024-02-29T12:34:56.789Z'), true],
    ['a bigint', 12345678901234567890n, false],
  ];
  it.each(values)('stores %s as binding it would', async (_name, value, packed) => {
    const out = await stored(value);
    expect(out.dialect).toEqual(out.bound);
    expect(out.packed).toBe(packed);
  });

  it('inserts rows in the order given and skips existing keys', async () => {
    const d = await db();
    await run(d, 'CREATE TABLE P (K TEXT NOT NULL UNIQUE, V TEXT)');
    await run(d, "INSERT INTO P VALUES ('b', 'old')");
    const rows = ['c', 'a', 'b', 'd'].map((k) => [`v-${k}`, k]);
    const { sql, params } = sqliteDialect.insertSkippingKeys('P', ['V', 'K'], rows, 'K');
    await run(d, sql, params);
    expect(await all(d, 'SELECT K, V FROM P ORDER BY rowid')).toEqual([
      { K: 'b', V: 'old' },
      { K: 'c', V: 'v-c' },
      { K: 'a', V: 'v-a' },
      { K: 'd', V: 'v-d' },
    ]);
  });
});

describe('sqlite dialect: key lists', () => {
  it('finds keys passed as one JSON parameter, or one parameter each when JSON cannot carry them', async () => {
    const d = await db();
    await run(d, 'CREATE TABLE P (K TEXT NOT NULL UNIQUE)');
    const keys = ['k1', 'ключ', 'a\ud800b', "o'hara"];
    for (const k of keys) await run(d, 'INSERT INTO P VALUES (?1)', [k]);
    const find = async (ks: string[]) => {
      const where = sqliteDialect.keyIn('"K"', ks);
      return { packed: where.params.length === 1, found: (await all(d, `SELECT K FROM P WHERE ${where.sql} ORDER BY rowid`, where.params)).map((r) => r.K) };
    };
    expect(await find(['k1', 'ключ', "o'hara", 'nope'])).toEqual({ packed: true, found: ['k1', 'ключ', "o'hara"] });
    expect(await find(keys)).toEqual({ packed: false, found: ['k1', 'ключ', 'a\ufffdb', "o'hara"] });
  });
});
