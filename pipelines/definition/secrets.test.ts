import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SOURCES, type ConnectorCatalog, type TargetDef } from '../../connectors/registry.js';
import { parsePipeline } from './pipeline.loader.js';
import { resolveSecrets } from './secrets.js';

const vaultDb: TargetDef = {
  name: 'vault-db',
  kind: 'target',
  doc: 'A test target with secrets.',
  configSchema: { type: 'object', additionalProperties: false, required: ['url'], properties: { url: { type: 'string' }, password: { type: 'string' } } },
  create: () => ({ connect: async () => undefined, deliver: async () => [], close: async () => undefined }),
};
const connectors: ConnectorCatalog = { sources: SOURCES, targets: new Map([['vault-db', vaultDb]]) };
const dir = join('/pipelines', 'office');
const defWith = (config: string) =>
  parsePipeline(join(dir, 'p.yaml'), ['pipeline: p', 'mapping: m.yaml', 'source:', '  kind: file', '  config: { path: in.ndjson }', 'target:', '  kind: vault-db', `  config: ${config}`, ''].join('\n'), connectors).def!;

describe('resolveSecrets', () => {
  it('fills copies of the configs and leaves the definition as it was', async () => {
    const def = defWith('{ url: { env: DB_URL }, password: { file: secrets/db.txt } }');
    const reads: string[] = [];
    const out = await resolveSecrets(def, { DB_URL: 'x://y' }, async (p) => {
      reads.push(p);
      return 'pw\r\n';
    });
    expect(out).toEqual({ source: { path: 'in.ndjson' }, target: { url: 'x://y', password: 'pw' }, secrets: ['x://y', 'pw'], missing: [], problems: [] });
    expect(reads).toEqual([join(dir, 'secrets/db.txt')]);
    expect(def.target.config.url).toEqual({ env: 'DB_URL' });
  });

  it('refuses an empty secret file', async () => {
    const def = defWith('{ url: { file: secrets/empty.txt } }');
    expect((await resolveSecrets(def, {}, async () => '\n')).problems.map((p) => p.message)).toEqual(['secret file "secrets/empty.txt" is empty']);
  });

  it('reports unset and empty variables and unreadable files at the reference, never with a value', async () => {
    const def = defWith('{ url: { env: DB_URL }, password: { file: secrets/nope.txt } }');
    const out = await resolveSecrets(def, { DB_URL: '' }, async () => {
      throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    });
    expect(out.problems).toEqual([
      { file: join(dir, 'p.yaml'), line: 8, col: 18, path: 'target.config.url', message: 'environment variable DB_URL is empty' },
      { file: join(dir, 'p.yaml'), line: 8, col: 45, path: 'target.config.password', message: 'cannot read secret file "secrets/nope.txt": ENOENT' },
    ]);
    expect(out.missing.map((r) => r.path)).toEqual([['url'], ['password']]);
    expect((await resolveSecrets(def, {}, async () => 'x')).problems[0]?.message).toBe('environment variable DB_URL is not set');
  });
});
