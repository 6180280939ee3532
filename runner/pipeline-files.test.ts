import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblem } from '../mappings/index.js';
import { SOURCES, type ConnectorCatalog, type TargetDef } from '../connectors/registry.js';
import pino from 'pino';
import type { MappedRecord, Target } from '../connectors/connector.types.js';
import { FileSource } from '../connectors/file-inbox/file.source.js';
import { SqliteTarget } from '../connectors/sql/sqlite.target.js';
import { loadPipelineFile } from './pipeline-files.js';
import { validateFile } from './commands/validate.command.js';
import { root } from './cli.test-helpers.js';

const example = join(root, 'examples/pipelines/change-of-address.yaml');
let dir: string;

const built: Record<string, unknown>[] = [];
const vaultDb: TargetDef = {
  name: 'vault-db',
  kind: 'target',
  doc: 'A test target with secrets.',
  configSchema: { type: 'object', additionalProperties: false, required: ['url'], properties: { url: { type: 'string' }, user: { type: 'string' }, password: { type: 'string' } } },
  create: (config) => {
    built.push(config);
    return { connect: async () => undefined, deliver: async () => [], close: async () => undefined } satisfies Target;
  },
};
const connectors: ConnectorCatalog = { sources: SOURCES, targets: new Map([['vault-db', vaultDb]]) };

const mapping = 'mapping: m\nfields:\n  REF: { from: submission_reference, required: true }\n';
const pipeline = (...target: string[]) =>
  ['pipeline: p', 'mapping: m.yaml', 'source:', '  kind: file', '  config: { path: in.ndjson }', 'target:', ...target, ''].join('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rekey-pipeline-files-'));
  await writeFile(join(dir, 'm.yaml'), mapping);
  await mkdir(join(dir, 'secrets'));
  await writeFile(join(dir, 'secrets/db.txt'), 'file-secret-value\n');
  await writeFile(join(dir, 'secrets/empty.txt'), '\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function write(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('loadPipelineFile', () => {
  it('loads the example: definition, compiled mapping, unconnected source and target', async () => {
    const { pipeline, problems } = await loadPipelineFile(example);
    expect(problems).toEqual([]);
    expect(pipeline?.def.pipeline).toBe('change-of-address');
    expect(pipeline?.mappingFile).toBe(join(root, 'examples/mappings/change-of-address.yaml'));
    expect(pipeline?.mapping.spec.name).toBe('change-of-address');
    expect(pipeline?.source).toBeInstanceOf(FileSource);
    expect((pipeline?.source as FileSource).path).toBe(join(root, 'fixtures/submissions/govuk-forms/change-of-address.ndjson'));
    expect(pipeline?.target).toBeInstanceOf(SqliteTarget);
    expect((pipeline?.target as SqliteTarget).path).toBe(join(root, '.rekey/legacy.sqlite'));
    expect(pipeline?.secrets).toEqual([]);
  });

  it('resolves secrets from the environment and files before building the target', async () => {
    const path = await write('secret.yaml', pipeline('  kind: vault-db', '  config: { url: { env: DB_URL }, user: rekey, password: { file: secrets/db.txt } }'));
    const { pipeline: p, problems } = await loadPipelineFile(path, { env: { DB_URL: 'postgres://legacy' }, connectors });
    expect(problems).toEqual([]);
    expect(built.at(-1)).toEqual({ url: 'postgres://legacy', user: 'rekey', password: 'file-secret-value' });
    expect(p?.secrets).toEqual(['postgres://legacy', 'file-secret-value']);
    expect(p?.def.target.config).toEqual({ url: { env: 'DB_URL' }, user: 'rekey', password: { file: 'secrets/db.txt' } });
  });

  it('reports unresolvable secrets at their reference, never with a value', async () => {
    const path = await write('missing.yaml', pipeline('  kind: vault-db', '  config:', '    url: { env: DB_URL }', '    user: { env: DB_USER }', '    password: { file: secrets/nope.txt }'));
    const { pipeline: p, problems } = await loadPipelineFile(path, { env: { DB_USER: '' }, connectors });
    expect(p).toBeUndefined();
    expect(problems.map(formatProblem)).toEqual([
      `${path}:9:10 environment variable DB_URL is not set (at target.config.url)`,
      `${path}:10:11 environment variable DB_USER is empty (at target.config.user)`,
      `${path}:11:15 cannot read secret file "secrets/nope.txt": ENOENT (at target.config.password)`,
    ]);
  });

  it('without secrets: missing ones are no problem, the connector lacking them is not built and is listed, other problems still count', async () => {
    const path = await write('nosecrets.yaml', pipeline('  kind: vault-db', '  config:', '    url: { env: DB_URL }', '    user: { env: DB_USER }', '    password: { file: secrets/nope.txt }'));
    const before = built.length;
    const r = await loadPipelineFile(path, { env: { DB_USER: '' }, connectors, withoutSecrets: true });
    expect(r).toEqual({ problems: [], unchecked: [{ side: 'target', kind: 'vault-db', missing: ['DB_URL', 'DB_USER', 'secrets/nope.txt'] }] });
    expect(built.length).toBe(before);
    const bad = await write('nosecrets-bad.yaml', pipeline('  kind: vault-db', '  config: { url: { env: DB_URL }, usr: x }'));
    expect((await loadPipelineFile(bad, { env: {}, connectors, withoutSecrets: true })).problems.map(formatProblem)).toEqual([`${bad}:8:35 unknown key "usr" under target.config, did you mean "user"? (at target.config.usr)`]);
    const all = await write('allsecrets.yaml', pipeline('  kind: vault-db', '  config: { url: { env: DB_URL } }'));
    const full = await loadPipelineFile(all, { env: { DB_URL: 'postgres://legacy' }, connectors, withoutSecrets: true });
    expect(full.unchecked).toBeUndefined();
    expect(full.pipeline?.secrets).toEqual(['postgres://legacy']);
  });

  it('locates a mapping file that cannot be read at the mapping key', async () => {
    const path = await write('nomap.yaml', pipeline('  kind: sqlite', '  config: { path: db.sqlite, table: T, keyColumn: K }').replace('m.yaml', 'gone.yaml'));
    expect((await loadPipelineFile(path)).problems.map(formatProblem)).toEqual([`${path}:2:10 cannot read the mapping "gone.yaml": ENOENT (at mapping)`]);
  });

  it('includes the mapping’s own problems, in the mapping file', async () => {
    await write('bad-map.yaml', 'mapping: m\nfields:\n  REF: { from: submission_reference, transfrom: [upper] }\n');
    const path = await write('with-bad-map.yaml', pipeline('  kind: sqlite', '  config: { path: db.sqlite, table: T, keyColumn: K }').replace('m.yaml', 'bad-map.yaml'));
    expect((await loadPipelineFile(path)).problems.map(formatProblem)).toEqual([
      `${join(dir, 'bad-map.yaml')}:3:38 unknown key "transfrom" under fields.REF, did you mean "transform"? (at fields.REF.transfrom)`,
    ]);
  });

  it('reports a connector that cannot be set up at its config', async () => {
    const path = await write('xml.yaml', pipeline('  kind: sqlite', '  config: { path: db.sqlite, table: T, keyColumn: K }').replace('in.ndjson', 'in.xml'));
    expect((await loadPipelineFile(path)).problems.map(formatProblem)).toEqual([
      `${path}:5:11 the file source cannot be set up: xml.recordPath is required, e.g. "submissions.submission" (at source.config)`,
    ]);
  });

  it('reports a file it cannot read', async () => {
    expect((await loadPipelineFile(join(dir, 'nope.yaml'))).problems.map(formatProblem)).toEqual([`${join(dir, 'nope.yaml')}:1:1 cannot read the pipeline: ENOENT`]);
  });
});

describe('the example end to end, into a scratch copy of the legacy table', () => {
  it('keys every record the example mapping accepts, once', async () => {
    const path = await write(
      'e2e.yaml',
      [
        'pipeline: e2e',
        `mapping: ${join(root, 'examples/mappings/change-of-address.yaml')}`,
        `source: { kind: file, config: { path: ${join(root, 'fixtures/submissions/govuk-forms/change-of-address.ndjson')} } }`,
        `target: { kind: sqlite, config: { path: legacy.sqlite, table: DRV_ADDR_CHG, keyColumn: SUBMISSION_KEY, setupSql: ${join(root, 'fixtures/legacy/drv_addr_chg.sqlite.sql')} } }`,
        '',
      ].join('\n'),
    );
    const p = (await loadPipelineFile(path)).pipeline!;
    const ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1 };
    const batch: MappedRecord[] = [];
    for await (const item of p.source.read(ctx)) {
      const result = item.ok ? p.mapping.map(item.body) : undefined;
      if (item.ok && result?.ok) batch.push({ key: p.mapping.keyOf(item.body)!, record: result.record, children: result.children, mappingVersion: p.mapping.version, uncertain: false });
    }
    await p.target.connect(ctx);
    const first = await p.target.deliver(batch, ctx);
    expect(first.map((o) => [o.status, o.status === 'delivered' && o.legacyRef])).toEqual(batch.map((_, i) => ['delivered', String(i + 1)]));
    expect((await p.target.deliver(batch, ctx)).every((o) => o.status === 'delivered' && o.alreadyPresent)).toBe(true);
    await p.target.close();
    expect(batch.length).toBe(6);
  });
});

describe('validate on pipeline files', () => {
  it('passes the example pipeline', async () => {
    expect(await validateFile(example)).toEqual([]);
  });

  it('checks a pipeline file fully: its own problems and its mapping’s', async () => {
    await write('bad-map2.yaml', 'mapping: m\nfields:\n  REF: { from: submission_reference, required: maybe }\n');
    const path = await write('v.yaml', pipeline('  kind: sqlite', '  config: { path: db.sqlite, tabel: T, keyColumn: K, table: T }').replace('m.yaml', 'bad-map2.yaml'));
    expect((await validateFile(path)).map(formatProblem)).toEqual([
      `${path}:8:30 unknown key "tabel" under target.config, did you mean "table"? (at target.config.tabel)`,
      `${join(dir, 'bad-map2.yaml')}:3:48 "required" must be boolean, got string "maybe" (at fields.REF.required)`,
    ]);
  });
});

describe('loadPipelineFile: routes', () => {
  const routed = (...routes: string[]) => ['pipeline: death', 'source: { kind: file, config: { path: in.ndjson } }', 'routes:', ...routes, ''].join('\n');
  const sqliteRoute = (name: string, mappingFile: string, ...more: string[]) => [
    `  - route: ${name}`,
    `    mapping: ${mappingFile}`,
    `    target: { kind: sqlite, config: { path: legacy.sqlite, table: ${name.toUpperCase()}, keyColumn: SUBMISSION_KEY } }`,
    ...more,
  ];

  it('builds each route with its mapping, target and compiled condition over the one source', async () => {
    await writeFile(join(dir, 'k.yaml'), 'mapping: k\nfields:\n  REF: { from: submission_reference, required: true }\n  AREA: { from: area }\n');
    const file = await write('routed.yaml', routed(...sqliteRoute('a', 'm.yaml'), ...sqliteRoute('b', 'k.yaml', '    when: { field: AREA, equals: north }')));
    const { pipeline, problems } = await loadPipelineFile(file);
    expect(problems).toEqual([]);
    const [a, b] = pipeline!.routes!;
    expect([a!.name, a!.def.pipeline, a!.mapping.spec.name, a!.applies]).toEqual(['a', 'death~a', 'm', undefined]);
    expect([b!.name, b!.def.pipeline, b!.mapping.spec.name]).toEqual(['b', 'death~b', 'k']);
    expect(a!.source).toBe(b!.source);
    expect(a!.target).not.toBe(b!.target);
    const record = (area: string) => b!.mapping.map({ submission_reference: 'R', area }).record;
    expect(b!.applies!({ area: 'north' }, record('north'))).toBe(true);
    expect(b!.applies!({ area: 'south' }, record('south'))).toBe(false);
  });

  it("checks each condition against its route's mapping, and one key for every route", async () => {
    await writeFile(join(dir, 'other-key.yaml'), 'mapping: o\nkey: "{{submission_reference}}"\nfields:\n  REF: { from: submission_reference, required: true }\n');
    const file = await write('routed-bad.yaml', routed(...sqliteRoute('a', 'm.yaml', '    when: { field: ARAE, exists: true }'), ...sqliteRoute('b', 'other-key.yaml'), ...sqliteRoute('c', 'nowhere.yaml')));
    const { pipeline, problems } = await loadPipelineFile(file);
    expect(pipeline).toBeUndefined();
    expect(problems.map(formatProblem)).toEqual([
      `${file}:7:20 field "ARAE" is not defined before this point (conditions see fields mapped above them) (at routes[0].when.field)`,
      `${file}:9:14 this route's mapping keys submissions as "{{submission_reference}}", route 1's as "{{form_name}}/{{submission_reference}}": every route of a pipeline must key a submission alike (the same key: template) (at routes[1].mapping)`,
      `${file}:12:14 cannot read the mapping "nowhere.yaml": ENOENT (at routes[2].mapping)`,
    ]);
  });
});
