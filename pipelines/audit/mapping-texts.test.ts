import { describe, expect, it } from 'vitest';
import { loadMapping } from '../../mappings/index.js';
import { versionOfText } from '../../mappings/version.js';
import { useTestLedger } from '../ledger/ledger.test-helpers.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { listMappingVersions, readMappingText, saveMappingText } from './mapping-texts.js';

const YAML = ['mapping: texts-test', 'fields:', '  REF: { from: submission_reference, required: true }', ''].join('\n');

describe('a compiled mapping', () => {
  it('carries the exact canonical text its version hashes, the same however the file is formatted', () => {
    const m = loadMapping('t.yaml', YAML).compiled!;
    expect(versionOfText(m.canonical)).toBe(m.version);
    const reformatted = loadMapping('t.yaml', `# a comment\n${YAML.replace('{ from: submission_reference, required: true }', '{required: true,   from: submission_reference}')}`).compiled!;
    expect(reformatted.canonical).toBe(m.canonical);
    expect(JSON.parse(m.canonical)).toMatchObject({ document: { mapping: 'texts-test' }, related: {}, functions: null });
  });
});

describe.each(TEST_DIALECTS)('mapping texts on %s', (dialect) => {
  const env = useTestLedger(dialect);
  const m = loadMapping('t.yaml', YAML).compiled!;
  const other = loadMapping('t.yaml', YAML.replace('texts-test', 'texts-other')).compiled!;

  it('stores a version once, reads it back checked, and lists versions by prefix', async () => {
    await saveMappingText(env.ts.store, m.version, m.canonical);
    await saveMappingText(env.ts.store, m.version, m.canonical);
    await env.ts.store.transaction((t) => saveMappingText(env.ts.store, other.version, other.canonical, t));
    expect(await readMappingText(env.ts.store, m.version)).toBe(m.canonical);
    expect(await readMappingText(env.ts.store, 'sha256:0000')).toBeNull();
    const [n] = await env.ts.store.select<{ n: number | string }>('SELECT COUNT(*) AS n FROM mapping_texts WHERE version = $1', [m.version]);
    expect(Number(n!.n)).toBe(1);
    expect(await listMappingVersions(env.ts.store)).toEqual([m.version, other.version].sort());
    expect(await listMappingVersions(env.ts.store, m.version.slice(0, 12))).toEqual([m.version]);
  });

  it('refuses a text that does not hash to its version, and says so when a stored text was edited', async () => {
    await expect(saveMappingText(env.ts.store, m.version, `${m.canonical} `)).rejects.toMatchObject({ code: 'MAPPING_TEXT_ALTERED' });
    await env.ts.store.exec('UPDATE mapping_texts SET text = $1 WHERE version = $2', [other.canonical.replace('texts-other', 'texts-edited'), other.version]);
    await expect(readMappingText(env.ts.store, other.version)).rejects.toMatchObject({
      code: 'MAPPING_TEXT_ALTERED',
      message: `the mapping text stored for ${other.version} no longer matches its version: the state store was edited`,
    });
  });

  it('is stored by the run that first uses the version, in the transaction that starts it', async () => {
    const fresh = loadMapping('t.yaml', YAML.replace('texts-test', 'texts-run')).compiled!;
    await env.ledger.startRun('texts-run', 'runner:test:1', fresh.version, null, fresh.canonical);
    expect(await readMappingText(env.ts.store, fresh.version)).toBe(fresh.canonical);
  });

  it('is stored with the first pushed submission when no run has started (webhook intake)', async () => {
    const fresh = loadMapping('t.yaml', YAML.replace('texts-test', 'texts-push')).compiled!;
    await env.ledger.receive('texts-push', null, [{ key: 'k', contentHash: 'sha256:k', body: { a: 1 }, source: 'POST /x id=1' }], 'runner:test:1', {
      mappingVersion: fresh.version,
      mappingText: fresh.canonical,
    });
    expect(await readMappingText(env.ts.store, fresh.version)).toBe(fresh.canonical);
    const [received] = await env.ledger.history('texts-push', 'k');
    expect(received).toMatchObject({ event: 'received', mappingVersion: fresh.version });
  });
});
