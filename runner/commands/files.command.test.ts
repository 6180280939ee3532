/**
 * `rekey files` against a real state store on each dialect: files sealed
 * in-process (the children share the key through REKEY_DATA_KEY), listed
 * and opened by the CLI, each opening audited once. Needs `npm run build`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { sealedFiles } from '../../pipelines/privacy/sealed-files.js';
import { openTestStore, TEST_DIALECTS } from '../../pipelines/store/store.test-helpers.js';
import { rekeyCli as rekey } from '../cli.test-helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each(TEST_DIALECTS)('rekey files on %s', (dialect) => {
  it('lists the sealed files by kind and opens one to its exact bytes, audited; refuses what it cannot open', async () => {
    const t = await openTestStore(dialect);
    const dir = mkdtempSync(join(tmpdir(), 'rekey-files-'));
    dirs.push(dir);
    try {
      const files = sealedFiles(t.store, TEST_KEYS, 'p');
      const clear = Buffer.from('Reference,Name\nR1,Zqx7Canary Jones\n\u00ff\u0000binary too\n', 'latin1');
      const done = join(dir, 'done', 'a.csv.sealed');
      const shot = join(dir, 'evidence', 'shot.png.sealed');
      mkdirSync(join(dir, 'done'));
      mkdirSync(join(dir, 'evidence'));
      await files.write(done, clear, { kind: 'inbox-done' });
      await files.write(shot, Buffer.from('png'), { kind: 'evidence', subject: 'form/K1' });
      expect(readFileSync(done).includes('Zqx7Canary')).toBe(false);

      const listed = await rekey(['files', 'p', '--state', t.url, '--json']);
      expect(listed.stderr).toBe('');
      const json = JSON.parse(listed.stdout) as { files: { kind: string; subject: string | null; path: string; created: string }[] };
      expect(json.files.map(({ kind, subject, path }) => ({ kind, subject, path })).sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
        { kind: 'evidence', subject: 'form/K1', path: shot },
        { kind: 'inbox-done', subject: null, path: done },
      ]);
      expect(json.files.every((f) => !Number.isNaN(Date.parse(f.created)))).toBe(true);
      const table = await rekey(['files', 'p', '--state', t.url, '--kind', 'evidence']);
      expect(table.stdout).toMatch(/^KIND\s+SUBJECT\s+CREATED\s+PATH\nevidence\s+form\/K1\s+\S+\s+\S+shot\.png\.sealed\n$/);
      expect((await rekey(['files', 'other', '--state', t.url])).stdout).toBe('no sealed files are kept for other\n');

      const out = join(dir, 'a.csv');
      const opened = await rekey(['files', 'p', '--state', t.url, '--open', done, '--out', out, '--operator', 'jo', '--json']);
      expect(opened.code).toBe(0);
      expect(JSON.parse(opened.stdout)).toEqual({ pipeline: 'p', file: done, kind: 'inbox-done', out, bytes: clear.length, actor: 'operator:jo' });
      expect(readFileSync(out).equals(clear)).toBe(true);
      expect(statSync(out).mode & 0o077).toBe(0);

      writeFileSync(join(dir, 'forged.sealed'), 'not sealed');
      const unknown = await rekey(['files', 'p', '--state', t.url, '--open', join(dir, 'forged.sealed'), '--out', join(dir, 'x')]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/^rekey: SEALED_FILE_UNKNOWN /);
      writeFileSync(shot, 'tampered: REKEY-SEALED but not really');
      const tampered = await rekey(['files', 'p', '--state', t.url, '--open', shot, '--out', join(dir, 'shot.png')]);
      expect(tampered.code).toBe(1);
      expect(tampered.stderr).toMatch(/^rekey: DATA_DECRYPT_FAILED /);
      expect(() => statSync(join(dir, 'shot.png'))).toThrow();

      const audited = await t.store.select<{ actor: string; detail: string }>("SELECT actor, detail FROM audit_log WHERE event = 'evidence-opened' ORDER BY seq");
      expect(audited.map((a) => ({ actor: a.actor, detail: JSON.parse(a.detail) as unknown }))).toEqual([{ actor: 'operator:jo', detail: { keys: [], files: ['a.csv.sealed'], kind: 'inbox-done' } }]);
    } finally {
      await t.dispose();
    }
  }, 120_000);
});
