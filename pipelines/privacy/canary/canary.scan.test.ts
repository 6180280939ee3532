/**
 * The canary scanner itself: it must find a planted value in every encoding
 * the suite claims to search, inside zip and gzip archives, and in SQLite
 * cells; otherwise the canary suite could pass without looking.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import sqlite3 from 'sqlite3';
import { describe, expect, it } from 'vitest';
import { Canaries, letters, scanBytes, scanSqlite, scanTree, unzip } from './canary.test-helpers.js';

const canaries = new Canaries();
const value = canaries.add('SURNAME of test', `CANARY-Sur née ${letters(10)}`);
const found = (bytes: Buffer) => canaries.scan('x', bytes).map((l) => l.encoding);

/** A zip archive of `entries`, deflated (fflate). */
function zip(entries: Record<string, Buffer>): Buffer {
  return Buffer.from(zipSync(entries));
}

describe('the canary scanner', () => {
  it('finds a canary raw in any case, as UTF-16LE, JSON-escaped, URL- and form-encoded, and as base64 at every alignment', () => {
    expect(found(Buffer.from(`xx${value}yy`))).toContain('utf-8 (any case)');
    expect(found(Buffer.from(value.toLowerCase()))).toContain('utf-8 (any case)');
    expect(found(Buffer.from(value, 'latin1'))).toContain('latin1 (any case)');
    expect(found(Buffer.from(`a${value}`, 'utf16le'))).toContain('utf-16le (any case)');
    expect(found(Buffer.from(JSON.stringify({ v: value }).replace('é', '\\u00e9')))).toContain('json-escaped');
    expect(found(Buffer.from(`q=${encodeURIComponent(value)}&`))).toContain('url-encoded');
    expect(found(Buffer.from(`q=${encodeURIComponent(value).replace(/%20/g, '+')}&`))).toContain('form-encoded');
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      expect(found(Buffer.from(Buffer.from(`${prefix}${value}!`).toString('base64'))), prefix).toContain('base64');
      expect(found(Buffer.from(Buffer.from(`${prefix}${value}!`).toString('base64url'))).some((e) => e.startsWith('base64')), prefix).toBe(true);
    }
    expect(canaries.scan('x', Buffer.from('nothing planted here'))).toEqual([]);
  });

  it('opens zip archives (traces) and gzip, naming the entry; reads every SQLite cell; walks folders', async () => {
    const archive = zip({ 'trace.trace': Buffer.from(`{"value":"${value}"}`), 'resources/a.png': Buffer.from('png') });
    expect([...unzip(archive)!.keys()]).toEqual(['trace.trace', 'resources/a.png']);
    expect(scanBytes(canaries, 'ev.zip', archive).map((l) => l.where)).toContain('ev.zip!/trace.trace');
    expect(scanBytes(canaries, 'log.gz', gzipSync(Buffer.from(value))).map((l) => l.where)).toContain('log.gz!gunzip');

    const dir = mkdtempSync(join(tmpdir(), 'rekey-canary-scan-'));
    let tool = false;
    try {
      execFileSync('zip', ['-q', join(dir, 'tool.zip'), '-'], { input: `${value}\n`.repeat(50) });
      tool = true;
    } catch {
      // No zip tool here: the archive written above stands for it.
    }
    if (tool) expect(scanBytes(canaries, 'tool.zip', (await import('node:fs')).readFileSync(join(dir, 'tool.zip'))).map((l) => l.where)).toContain('tool.zip!/-');

    const file = join(dir, 'db.sqlite');
    await new Promise<void>((resolve, reject) => {
      const db = new sqlite3.Database(file);
      db.exec(`CREATE TABLE t (a TEXT, b BLOB); INSERT INTO t VALUES ('none', x'${Buffer.from(value).toString('hex')}')`, (e) => db.close(() => (e ? reject(e) : resolve())));
    });
    expect((await scanSqlite(canaries, file, 'db')).map((l) => `${l.where} ${l.at}`)).toContain('db t.b row 1');
    writeFileSync(join(dir, 'plain.txt'), `x ${value} y`);
    const tree = scanTree(canaries, dir, (f) => f.endsWith('.sqlite'));
    expect(tree.leaks.map((l) => l.where)).toContain('plain.txt');
    expect(tree.files.some((f) => f.endsWith('.sqlite'))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});
