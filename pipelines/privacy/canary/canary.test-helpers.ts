/**
 * Test helpers of the canary suite: unique values planted in personal-data
 * fields and secrets, and a scanner that looks for them in bytes (raw,
 * any case, UTF-16LE, base64 at every alignment, URL-encoded, JSON-escaped),
 * in folder trees (zip archives such as Playwright traces opened, gzip
 * unpacked), in SQLite databases and in PostgreSQL schemas, naming each
 * place a canary was found.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import pg from 'pg';
import sqlite3 from 'sqlite3';

/** One planted value: what it stands for (`SURNAME of sqlite-good`, `PostgreSQL password`) and its text. */
export interface Canary {
  label: string;
  value: string;
}

/** One place a canary was found. */
export interface Leak {
  /** File (with `!/entry` inside an archive), table and column, or captured output. */
  where: string;
  /** Byte offset, or row id. */
  at: string;
  canary: string;
  encoding: string;
}

const LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';

/** `n` random upper-case letters (no I, O or Q). */
export function letters(n: number): string {
  return Array.from(randomBytes(n), (b) => LETTERS[b % LETTERS.length]).join('');
}

/** `n` random digits. */
export function digits(n: number): string {
  return Array.from(randomBytes(n), (b) => String(b % 10)).join('');
}

interface Needle {
  canary: string;
  encoding: string;
  bytes: Buffer;
  /** Matched against the haystack folded to lower case (ASCII). */
  folded: boolean;
}

function foldAscii(b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let i = 0; i < out.length; i++) {
    const c = out[i]!;
    if (c >= 65 && c <= 90) out[i] = c + 32;
  }
  return out;
}

/** The base64 text that any encoding of `bytes` holds, whatever its alignment in the encoded stream. */
function base64Needles(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const text = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64');
    const first = Math.ceil((pad * 8) / 6);
    const last = Math.floor(((pad + bytes.length) * 8 - 6) / 6);
    const core = text.slice(first, last + 1);
    if (core.length >= 8) out.push(core);
  }
  return out;
}

function jsonEscaped(value: string): string[] {
  const plain = JSON.stringify(value).slice(1, -1);
  const ascii = plain.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [...new Set([plain, ascii])];
}

/**
 * The canaries of one run, and the byte patterns each is searched as. Texts
 * shorter than 6 characters are refused: they would be found by chance.
 */
export class Canaries {
  readonly all: Canary[] = [];
  private needles: Needle[] | undefined;

  /** Records `value` under `label` and returns it. */
  add(label: string, value: string): string {
    if (value.length < 6) throw new Error(`canary ${label} is too short to search for: ${value.length} characters`);
    this.all.push({ label, value });
    this.needles = undefined;
    return value;
  }

  private patterns(): Needle[] {
    if (this.needles) return this.needles;
    const out: Needle[] = [];
    for (const { label, value } of this.all) {
      const push = (encoding: string, bytes: Buffer, folded: boolean) => out.push({ canary: label, encoding, bytes: folded ? foldAscii(bytes) : bytes, folded });
      push('utf-8 (any case)', Buffer.from(value, 'utf8'), true);
      push('latin1 (any case)', Buffer.from(value, 'latin1'), true);
      push('utf-16le (any case)', Buffer.from(value, 'utf16le'), true);
      for (const text of jsonEscaped(value)) if (text !== value) push('json-escaped', Buffer.from(text), true);
      const url = encodeURIComponent(value);
      if (url !== value) push('url-encoded', Buffer.from(url), true);
      const form = url.replace(/%20/g, '+');
      if (form !== url) push('form-encoded', Buffer.from(form), true);
      for (const b64 of base64Needles(Buffer.from(value, 'utf8'))) push('base64', Buffer.from(b64), false);
      for (const b64 of base64Needles(Buffer.from(value, 'utf8'))) push('base64url', Buffer.from(b64.replace(/\+/g, '-').replace(/\//g, '_')), false);
    }
    const seen = new Set<string>();
    this.needles = out.filter((n) => {
      const id = `${n.canary}\0${n.folded}\0${n.bytes.toString('hex')}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    return this.needles;
  }

  /** Every canary in `bytes`, once per canary and encoding, with the first offset. */
  scan(where: string, bytes: Buffer): Leak[] {
    const folded = foldAscii(bytes);
    const leaks: Leak[] = [];
    for (const n of this.patterns()) {
      const at = (n.folded ? folded : bytes).indexOf(n.bytes);
      if (at >= 0) leaks.push({ where, at: `offset ${at}`, canary: n.canary, encoding: n.encoding });
    }
    return leaks;
  }

  /** Every canary in `text` (searched as its UTF-8 bytes). */
  scanText(where: string, text: string): Leak[] {
    return this.scan(where, Buffer.from(text, 'utf8'));
  }
}

/** The entries of a zip archive, by name (fflate); undefined when `bytes` is not one. */
export function unzip(bytes: Buffer): Map<string, Buffer> | undefined {
  if (bytes.length < 22 || bytes.readUInt32LE(0) !== 0x04034b50) return undefined;
  try {
    return new Map(Object.entries(unzipSync(bytes)).map(([name, data]) => [name, Buffer.from(data)]));
  } catch {
    return undefined;
  }
}

/** Scans `bytes` named `where`, and inside it when it is a zip archive or gzip. */
export function scanBytes(canaries: Canaries, where: string, bytes: Buffer): Leak[] {
  const leaks = canaries.scan(where, bytes);
  const entries = unzip(bytes);
  if (entries) for (const [name, data] of entries) leaks.push(...scanBytes(canaries, `${where}!/${name}`, data));
  if (bytes.length > 18 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      leaks.push(...scanBytes(canaries, `${where}!gunzip`, gunzipSync(bytes)));
    } catch {
      // Not gzip after all: the raw scan above stands.
    }
  }
  return leaks;
}

/** Every regular file under `dir`, depth first. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const s = lstatSync(path);
    if (s.isDirectory()) out.push(...filesUnder(path));
    else if (s.isFile()) out.push(path);
  }
  return out;
}

/** Scans every file under `dir` that `skip` does not exclude; names files relative to `dir`. */
export function scanTree(canaries: Canaries, dir: string, skip: (path: string) => boolean = () => false): { files: string[]; leaks: Leak[] } {
  const files = filesUnder(dir).filter((f) => !skip(f));
  const leaks = files.flatMap((f) => scanBytes(canaries, relative(dir, f), readFileSync(f)));
  return { files, leaks };
}

function cellBytes(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (v === null || v === undefined) return Buffer.alloc(0);
  if (v instanceof Date) return Buffer.from(v.toISOString());
  return Buffer.from(typeof v === 'object' ? JSON.stringify(v) : String(v), 'utf8');
}

/** Every cell of every table of the SQLite database `file`, as `table.column` and row number. */
export async function scanSqlite(canaries: Canaries, file: string, name: string): Promise<Leak[]> {
  const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
  const all = <T>(sql: string) => new Promise<T[]>((resolve, reject) => db.all(sql, (e, rows: T[]) => (e ? reject(e) : resolve(rows))));
  try {
    const leaks: Leak[] = [];
    const tables = await all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'");
    for (const { name: table } of tables) {
      const rows = await all<Record<string, unknown>>(`SELECT * FROM "${table.replace(/"/g, '""')}"`);
      rows.forEach((row, i) => {
        for (const [column, v] of Object.entries(row)) {
          for (const l of scanBytes(canaries, `${name} ${table}.${column}`, cellBytes(v))) leaks.push({ ...l, at: `row ${i + 1}` });
        }
      });
    }
    return leaks;
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/** Every cell of every table in the PostgreSQL `schema` at `url`, as `schema.table.column` and row number. */
export async function scanPostgresSchema(canaries: Canaries, url: string, schema: string): Promise<{ tables: string[]; leaks: Leak[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const leaks: Leak[] = [];
    const { rows: tables } = await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'", [schema]);
    for (const { table_name: table } of tables) {
      const { rows } = await client.query<Record<string, unknown>>(`SELECT * FROM "${schema}"."${table.replace(/"/g, '""')}"`);
      rows.forEach((row, i) => {
        for (const [column, v] of Object.entries(row)) {
          for (const l of scanBytes(canaries, `postgres ${schema}.${table}.${column}`, cellBytes(v))) leaks.push({ ...l, at: `row ${i + 1}` });
        }
      });
    }
    return { tables: tables.map((t) => t.table_name), leaks };
  } finally {
    await client.end();
  }
}

/** A leak as one line of a failure report. */
export function describeLeak(l: Leak): string {
  return `${l.where} (${l.at}): ${l.canary} [${l.encoding}]`;
}

/** Leaks as report lines, one per place and canary (the first encoding found), sorted. */
export function report(leaks: readonly Leak[]): string[] {
  const seen = new Map<string, Leak>();
  for (const l of leaks) {
    const id = `${l.where}\0${l.canary}`;
    if (!seen.has(id)) seen.set(id, l);
  }
  return [...seen.values()].map(describeLeak).sort();
}
