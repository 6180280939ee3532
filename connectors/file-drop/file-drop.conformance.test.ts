/**
 * The `file-drop` target runs the conformance suite: CSV files in latin1 of
 * 25 records each, with manifests and `.ok` triggers, in a folder of each
 * scenario's own. Records are held in the open file across batches and put
 * in place when a file is full or at the end of a run, so the kill points
 * include the file drop's own (after a full file is journalled, before its
 * rename) and the end-of-run flush. A final file must never be partial: its
 * bytes match its manifest's SHA-256 after any run, even a killed one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { expect } from 'vitest';
import { BENCH_MAPPING, benchPii, benchSubmissions, withTown } from '../conformance/bench-bodies.js';
import { keyOf } from '../conformance/conformance.run.js';
import { targetConformance, type LegacyRecord } from '../conformance/target.conformance.js';

const FORM = keyOf(benchSubmissions(1, 0)[0]!).split('/')[0]!;

/** The final data files in `drop` (temporary files start with a dot). */
const finalFiles = (drop: string) => (existsSync(drop) ? readdirSync(drop).filter((n) => n.endsWith('.csv') && !n.startsWith('.')) : []);

targetConformance({
  name: 'file-drop',
  mapping: BENCH_MAPPING,
  submissions: benchSubmissions,
  records: 40,
  batch: 10,
  // Hits of after-target-commit: one per batch (1-4), then the end-of-run flush (5); the first file fills at record 25, in batch 3.
  // Hits of after-ledger-delivered: one per batch (1-4), then one per batch of the flush's 15 records (5, 6).
  crashAt: [
    { at: 'after-target-commit:2', reached: 0 },
    { at: 'file-drop-before-rename:1', reached: 0 },
    { at: 'after-target-commit:5', reached: 40 },
    { at: 'after-ledger-delivered:3', reached: 25 },
    { at: 'after-ledger-delivered:5', reached: 40 },
  ],
  uncertainAt: 'after-target-commit:3',
  bad: {
    make: (b) => withTown(b, 'Łódź'),
    error: () => ({ code: 'FILE_DROP_ENCODING', disposition: 'reject', message: 'TOWN: character "Ł" (U+0141) cannot be written in latin1' }),
  },
  pii: benchPii,
  async legacy(dir) {
    const drop = join(dir, 'drop');
    return {
      target: { kind: 'file-drop', config: { folder: './drop', name: 'ADDR_{seq:4}.csv', manifest: true, trigger: '.ok', rotate: { records: 25 }, format: { kind: 'csv', encoding: 'latin1' } } },
      where: drop,
      env: {},
      async records() {
        const out: LegacyRecord[] = [];
        for (const name of finalFiles(drop)) {
          const rows = parse(readFileSync(join(drop, name)), { columns: true, encoding: 'latin1' }) as { REF: string }[];
          rows.forEach((r, i) => out.push({ key: `${FORM}/${r.REF}`, ref: `${name}#${i + 1}` }));
        }
        return out;
      },
      async check() {
        for (const name of finalFiles(drop)) {
          const bytes = readFileSync(join(drop, name));
          const manifest = JSON.parse(readFileSync(join(drop, `${name}.manifest.json`), 'utf8')) as { sha256: string; records: number };
          expect(createHash('sha256').update(bytes).digest('hex'), `${name} is whole`).toBe(manifest.sha256);
          expect(parse(bytes, { columns: true, encoding: 'latin1' }), `${name} holds what its manifest counts`).toHaveLength(manifest.records);
        }
      },
      async settled() {
        expect(readdirSync(drop).filter((n) => n.startsWith('.')), 'temporary files left').toEqual([]);
        for (const name of finalFiles(drop)) expect(existsSync(join(drop, `${name}.ok`)), `${name}.ok`).toBe(true);
      },
    };
  },
});
