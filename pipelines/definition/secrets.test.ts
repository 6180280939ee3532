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
    expect(out).toEqual({ source: { path: 'in.ndjson' }, target: { url: 'x://y', password: 'pw' }, alerts: {}, secrets: ['x://y', 'pw'], missing: [], problems: [] });
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

describe('alerts: webhook URLs are secrets', () => {
  const withAlerts = (alerts: string) =>
    parsePipeline(join(dir, 'p.yaml'), ['pipeline: p', 'mapping: m.yaml', 'source:', '  kind: file', '  config: { path: in.ndjson }', 'target:', '  kind: vault-db', '  config: { url: { env: DB_URL } }', alerts, ''].join('\n'), connectors);

  it('reads webhooks with their events, all three by default, and resolves each URL', async () => {
    const parsed = withAlerts('alerts:\n  webhooks:\n    - { url: { env: SLACK_HOOK } }\n    - { url: { file: teams.txt }, on: [pass-failed, recovered] }');
    expect(parsed.problems).toEqual([]);
    expect(parsed.def!.alerts).toEqual({
      webhooks: [
        { url: { env: 'SLACK_HOOK' }, on: ['pass-failed', 'dead-letters', 'recovered'] },
        { url: { file: 'teams.txt' }, on: ['pass-failed', 'recovered'] },
      ],
    });
    const out = await resolveSecrets(parsed.def!, { DB_URL: 'x://y', SLACK_HOOK: 'https://hooks.example/T1/B2/s3cr3t' }, async () => 'https://teams.example/hook/abc\n');
    expect(out.problems).toEqual([]);
    expect(out.alerts).toEqual({ webhooks: [{ url: 'https://hooks.example/T1/B2/s3cr3t', on: ['pass-failed', 'dead-letters', 'recovered'] }, { url: 'https://teams.example/hook/abc', on: ['pass-failed', 'recovered'] }] });
    expect(out.secrets).toContain('https://hooks.example/T1/B2/s3cr3t');
    expect(parsed.def!.alerts!.webhooks[0]!.url).toEqual({ env: 'SLACK_HOOK' });
  });

  it('refuses a URL written in the file, at its place and without echoing it, and an unknown event', () => {
    const parsed = withAlerts('alerts:\n  webhooks:\n    - url: https://hooks.slack.com/services/T0/B0/XyZsecret\n      on: [pass-failed, exploded]');
    expect(parsed.def).toBeUndefined();
    const text = JSON.stringify(parsed.problems);
    expect(text).not.toContain('XyZsecret');
    expect(parsed.problems.find((p) => p.path === 'alerts.webhooks[0].url')).toMatchObject({ line: 11, message: expect.stringContaining('{ env: NAME }') });
    expect(parsed.problems.some((p) => p.path.startsWith('alerts.webhooks[0].on'))).toBe(true);
  });

  it('reports an unset variable at the webhook URL', async () => {
    const parsed = withAlerts('alerts:\n  webhooks:\n    - { url: { env: SLACK_HOOK } }');
    const out = await resolveSecrets(parsed.def!, { DB_URL: 'x://y' });
    expect(out.problems).toEqual([expect.objectContaining({ path: 'alerts.webhooks[0].url', line: 11, message: 'environment variable SLACK_HOOK is not set' })]);
  });
});
