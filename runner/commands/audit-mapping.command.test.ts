import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionOfText } from '../../mappings/version.js';
import { rekeyCli as rekey, root, TEST_PII_KEY_HEX } from '../cli.test-helpers.js';

const PIPELINE = 'examples/pipelines/change-of-address.yaml';
const MAPPING = 'examples/mappings/change-of-address.yaml';
const COPIED = [PIPELINE, MAPPING, 'fixtures/submissions/govuk-forms/change-of-address.ndjson', 'fixtures/legacy/drv_addr_chg.sqlite.sql'];
const GOLDEN_DIFF = join(root, 'fixtures/audit/change-of-address.mapping.diff');
const SURNAME_35 = 'transform: [trim, collapse, upper, { transliterate: { charset: latin1 } }, { truncate: 35 }]';
const SURNAME_30 = SURNAME_35.replace('truncate: 35', 'truncate: 30');

interface Listed {
  versions: { version: string; firstSeen: string; pipelines: string[] }[];
}

describe('rekey audit mapping and audit diff (the built CLI, on the quick-start example)', () => {
  let dir: string;
  let state: string;
  let v1: string;
  let v2: string;
  const env = { REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn' };
  const cli = (...args: string[]) => rekey([...args, '--state', state], dir, env);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rekey-audit-mapping-'));
    for (const f of COPIED) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      copyFileSync(join(root, f), join(dir, f));
    }
    state = `sqlite:${join(dir, 'state.sqlite')}`;
    const first = await rekey(['run', '--state', state, PIPELINE], dir, env);
    // The quick start's sample holds 5 submissions the mapping rejects on purpose; a run with rejections may exit 1.
    expect([0, 1], first.stderr).toContain(first.code);
    const text = readFileSync(join(dir, MAPPING), 'utf8');
    expect(text.split(SURNAME_35).length).toBe(2);
    writeFileSync(join(dir, MAPPING), text.replace(SURNAME_35, SURNAME_30));
    const second = await rekey(['run', '--state', state, PIPELINE], dir, env);
    expect([0, 1], second.stderr).toContain(second.code);
    const listed = JSON.parse((await cli('audit', 'mapping', '--list', '--json')).stdout) as Listed;
    expect(listed.versions.map((v) => v.pipelines)).toEqual([['change-of-address'], ['change-of-address']]);
    [v1, v2] = listed.versions.map((v) => v.version) as [string, string];
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('diffs the two versions: exactly the changed rule', async () => {
    const r = await cli('audit', 'diff', v1.slice(0, 15), v2.slice(7, 19));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const golden = readFileSync(GOLDEN_DIFF, 'utf8').replaceAll('<v1>', v1).replaceAll('<v2>', v2);
    expect(r.stdout).toBe(golden);
    const same = await cli('audit', 'diff', v1, v1);
    expect(same.stdout).toBe(`${v1} and ${v1} have the same rules\n`);
    const json = JSON.parse((await cli('audit', 'diff', v1, v2, '--json')).stdout) as { from: string; to: string; same: boolean; diff: string };
    expect(json).toEqual({ from: v1, to: v2, same: false, diff: golden });
  });

  it('prints a stored version as YAML, its canonical text with --json, and its lineage', async () => {
    const yaml = await cli('audit', 'mapping', v1.slice(7, 17));
    expect(yaml.code).toBe(0);
    expect(yaml.stdout.split('\n').slice(0, 4)).toEqual([`# mapping change-of-address, version ${v1}`, '', 'mapping: change-of-address', 'description: DVLA driving licence change of address (GOV.UK Forms) to the DRV_ADDR_CHG layout']);
    expect(yaml.stdout).toContain('{ truncate: 35 }');
    const json = await cli('audit', 'mapping', v2, '--json');
    expect(versionOfText(json.stdout.replace(/\n$/, ''))).toBe(v2);
    expect(JSON.parse(json.stdout)).toMatchObject({ document: { mapping: 'change-of-address' }, related: {}, functions: null });
    const lineage = await cli('audit', 'mapping', v2, '--lineage');
    expect(lineage.stdout).toContain(
      [
        'SURNAME  [pii, required]',
        '  reads      answer Fn3kQ8aZ.last_name ("What is your name?")',
        '  transform  trim -> collapse -> upper -> transliterate {charset: latin1} -> truncate 30',
      ].join('\n'),
    );
    expect(lineage.stdout.split('\n')[0]).toBe(`# field lineage of mapping version ${v2} (fields in name order)`);
  });

  it('lists the versions with --pipeline, and none for a pipeline that never ran', async () => {
    const table = await cli('audit', 'mapping', '--list', '--pipeline', 'change-of-address');
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^version +first stored +last run +pipelines$/);
    expect(rows.slice(1).map((r) => r.split(/ +/).filter((c, i) => i !== 1 && i !== 2))).toEqual([
      [v1, 'change-of-address'],
      [v2, 'change-of-address'],
    ]);
    const none = await cli('audit', 'mapping', '--list', '--pipeline', 'no-such');
    expect(none.stdout).toBe('no stored mapping versions for pipeline no-such\n');
  });

  it('refuses unknown, malformed and missing versions with coded errors, and loses nothing', async () => {
    const absent = ['0000', '1111', '2222'].find((p) => !v1.startsWith(`sha256:${p}`) && !v2.startsWith(`sha256:${p}`))!;
    const unknown = await cli('audit', 'mapping', absent);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.split('\n')[0]).toBe(`rekey: MAPPING_VERSION_UNKNOWN no stored mapping version starts with sha256:${absent}`);
    const bad = await cli('audit', 'diff', v1, 'not-hex');
    expect(bad.code).toBe(1);
    expect(bad.stderr.split('\n')[0]).toBe('rekey: MAPPING_VERSION_UNKNOWN "not-hex" is not a mapping version: give sha256: and hex digits, or the first hex digits');
    expect(bad.stdout).toBe('');
    const none = await cli('audit', 'mapping');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('rekey: give a mapping version, or --list');
    const listed = JSON.parse((await cli('audit', 'mapping', '--list', '--json')).stdout) as Listed;
    expect(listed.versions.map((v) => v.version)).toEqual([v1, v2]);
  });
});
