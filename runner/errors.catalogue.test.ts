import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CodedError, DISPOSITIONS } from '../lib/errors.js';
import { PipelineCodes } from '../pipelines/pipeline.errors.js';
import { catalogued, ERROR_CATALOGUES } from './errors.catalogue.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const LITERAL = String.raw`['"][A-Z0-9_]+['"]`;
const CODE = /['"]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"]/g;

/**
 * Where source text makes a coded error out of literals: a `code:`
 * property (or a `code:` type union of literals), a literal first argument
 * to an `...Error(`/`...Failure(` constructor or a `fail(`/`failure(`
 * helper, and a literal fallback after `code ??` / `code ||`. Comparisons
 * with foreign codes (`err.code === 'FST_ERR_...'`) are reading, not
 * creating, and are left out.
 */
const CREATING = [
  new RegExp(String.raw`\bcode\??\s*:\s*((?:${LITERAL}\s*\|\s*)*${LITERAL})`, 'g'),
  new RegExp(String.raw`(?:Error|Failure|\bfail|\bfailure)\(\s*(${LITERAL})`, 'g'),
  new RegExp(String.raw`\bcode\s*(?:\?\?|\|\|)\s*(${LITERAL})`, 'g'),
];

/** Every error code `source` creates from a string literal, once each. */
function codesCreatedIn(source: string): string[] {
  const found = new Set<string>();
  for (const re of CREATING) for (const m of source.matchAll(re)) for (const c of m[1]!.matchAll(CODE)) found.add(c[1]!);
  return [...found];
}

const TEST_CODE = /(?:\.test|\.test-helpers|\.test-support|test-support|\.global-setup)\.ts$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'conformance' || d.name === 'node_modules' ? [] : sourceFiles(path);
    return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') && !TEST_CODE.test(d.name) ? [path] : [];
  });
}

const ONE_SENTENCE = /^[A-Z`][^\n]*[.]$/;
const entries = ERROR_CATALOGUES.flatMap((s) => s.entries);

describe('the error catalogue', () => {
  it('finds the codes a sample creates, and reports those no catalogue holds (so an uncatalogued code fails this test)', () => {
    const sample = `
      return { ok: false, error: { code: 'SQL_SCHEMA', disposition: 'fatal', message } };
      const outcome = { key, status: 'failed', error: { code: 'QUEUE_OVERFLOWED', disposition: 'retry', message: 'full' } };
      throw new IntakeError('WEBHOOK_TOO_LARGE', 'too big');
      throw new SomethingFailure("TARGET_ON_FIRE", 'burning');
      const error = { code: err.code ?? 'MYSTERY_FALLBACK', disposition: 'retry' };
      const f = (code: 'SQL_SCHEMA' | 'SQL_TYPO_CODE', message: string) => fail('SQL_OTHER_TYPO', message);
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return;
      const column = 'CASE_ID';
    `;
    const found = codesCreatedIn(sample);
    expect(found.sort()).toEqual(['MYSTERY_FALLBACK', 'QUEUE_OVERFLOWED', 'SQL_OTHER_TYPO', 'SQL_SCHEMA', 'SQL_TYPO_CODE', 'TARGET_ON_FIRE', 'WEBHOOK_TOO_LARGE']);
    expect(found.filter((c) => !catalogued(c)).sort()).toEqual(['MYSTERY_FALLBACK', 'QUEUE_OVERFLOWED', 'SQL_OTHER_TYPO', 'SQL_TYPO_CODE', 'TARGET_ON_FIRE']);
  });

  it('holds every code created anywhere in the source tree', () => {
    const files = ['lib', 'connectors', 'mappings', 'pipelines', 'runner'].flatMap((d) => sourceFiles(join(root, d)));
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((f) => codesCreatedIn(readFileSync(f, 'utf8')).map((code) => ({ file: relative(root, f), code })));
    expect(found.map((f) => f.code)).toContain('SQL_SCHEMA');
    expect(found.filter((f) => !catalogued(f.code))).toEqual([]);
  });

  it('names codes through the catalogue outside it: no file but a catalogue makes a code from a literal', () => {
    const catalogues = new Set(ERROR_CATALOGUES.map((s) => s.file));
    const files = ['lib', 'connectors', 'mappings', 'pipelines', 'runner'].flatMap((d) => sourceFiles(join(root, d)));
    const bare = files.filter((f) => !catalogues.has(relative(root, f))).flatMap((f) => codesCreatedIn(readFileSync(f, 'utf8')).map((code) => `${relative(root, f)}: ${code}`));
    expect(bare).toEqual([]);
  });

  it('defines each code once, with a disposition, a sentence of what it means and one of what to do', () => {
    const codes = entries.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of entries) {
      expect(DISPOSITIONS, e.code).toContain(e.disposition);
      expect(e.means, e.code).toMatch(ONE_SENTENCE);
      expect(e.hint, e.code).toMatch(ONE_SENTENCE);
      for (const [d, when] of Object.entries(e.otherwise ?? {})) {
        expect(DISPOSITIONS, e.code).toContain(d);
        expect(d, e.code).not.toBe(e.disposition);
        expect(when, e.code).toMatch(/^[a-z][^\n]*[^.]$/);
      }
    }
  });

  it('classes TARGET_HELD_WITHOUT_FLUSH one way: fatal', () => {
    expect(catalogued('TARGET_HELD_WITHOUT_FLUSH')).toMatchObject({ disposition: 'fatal' });
    expect(catalogued('TARGET_HELD_WITHOUT_FLUSH')?.otherwise).toBeUndefined();
  });

  it('sends a coded error across a worker boundary as plain data', () => {
    const e = new CodedError(PipelineCodes.STORE_UNAVAILABLE, 'no store here');
    expect(structuredClone(e.toData())).toEqual({ code: 'STORE_UNAVAILABLE', disposition: 'fatal', message: 'no store here' });
  });
});
