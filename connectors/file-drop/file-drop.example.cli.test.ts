/**
 * The file-drop example pipeline as users run it: `rekey validate`, then
 * `rekey run` from a fresh copy twice: the first run drops one fixed-width
 * file with its manifest and trigger (the fixture's five bad submissions
 * are rejected by the mapping, so it exits 1), the second finds nothing new
 * and drops nothing. Needs `npm run build`.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rekey, root } from '../../runner/cli.test-helpers.js';

const PIPELINE = 'examples/pipelines/file-drop-change-of-address.yaml';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-drop-example-'));
  dirs.push(dir);
  for (const f of [PIPELINE, 'examples/mappings/change-of-address.yaml', 'examples/mappings/change-of-address.cases.yaml', 'fixtures/submissions/govuk-forms/change-of-address.ndjson']) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    copyFileSync(join(root, f), join(dir, f));
  }
  return dir;
}

describe('the file-drop example pipeline', () => {
  it('validates', async () => {
    const r = await rekey(['validate', PIPELINE]);
    expect(r.stderr).toBe('1 file(s) valid\n');
    expect(r.code).toBe(0);
  });

  it('runs from a fresh copy: one fixed-width file with header, trailer, manifest and trigger; a second run drops nothing', async () => {
    const dir = freshCopy();
    const r = await rekey(['run', '--json', PIPELINE], dir);
    const summary = JSON.parse(r.stdout) as { delivered: number; rejected: number };
    expect(summary).toMatchObject({ read: 11, delivered: 6, rejected: 5, failed: 0, dead: 0 });
    expect(r.code).toBe(1);
    const drop = join(dir, '.rekey/drop/change-of-address');
    const names = readdirSync(drop).sort();
    expect(names).toHaveLength(3);
    const [data, manifest, ok] = names as [string, string, string];
    expect(data).toMatch(/^DRVADDR_\d{8}_000001\.dat$/);
    expect([manifest, ok]).toEqual([`${data}.manifest.json`, `${data}.ok`]);
    const bytes = readFileSync(join(drop, data));
    const lines = bytes.toString('latin1').split('\r\n');
    expect(lines.pop()).toBe('');
    for (const l of lines) expect(l).toHaveLength(400);
    expect(lines[0]!.slice(0, 9)).toBe('HDRVADDR ');
    expect(lines[0]!.slice(17, 23)).toBe('000001');
    expect(lines.filter((l) => l.startsWith('D'))).toHaveLength(summary.delivered);
    expect(lines.at(-1)!.slice(0, 15)).toBe(`T${String(summary.delivered).padStart(7, '0')}${String(summary.delivered + 2).padStart(7, '0')}`);
    expect(JSON.parse(readFileSync(join(drop, manifest), 'utf8'))).toMatchObject({ file: data, records: summary.delivered, sha256: createHash('sha256').update(bytes).digest('hex') });
    const again = await rekey(['run', '--json', PIPELINE], dir);
    expect(JSON.parse(again.stdout)).toMatchObject({ delivered: 0, rejected: 0, duplicates: 11 });
    expect(again.code).toBe(0);
    expect(readdirSync(drop).sort()).toEqual(names);
  });
});
