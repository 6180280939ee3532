import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../mappings/index.js';
import { SOURCES, TARGETS, type ConnectorCatalog, type TargetDef } from '../../connectors/registry.js';
import { parsePipeline } from './pipeline.loader.js';
import { DEFAULT_RETRY } from './retry.js';
import { DEFAULT_RETENTION } from '../privacy/retention.js';

const lines = (...l: string[]) => l.join('\n') + '\n';
const problemsOf = (text: string, connectors?: ConnectorCatalog) => parsePipeline('p.yaml', text, connectors).problems.map(formatProblem);

const head = ['pipeline: change-of-address', 'mapping: ../mappings/change-of-address.yaml', 'source:', '  kind: file', '  config: { path: in.ndjson }'];
const sqlite = ['target:', '  kind: sqlite', '  config: { path: legacy.sqlite, table: DRV_ADDR_CHG, keyColumn: SUBMISSION_KEY }'];
const minimal = (...more: string[]) => lines(...head, ...sqlite, ...more);

const vaultDb: TargetDef = {
  name: 'vault-db',
  kind: 'target',
  doc: 'A test target with secrets.',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: { url: { type: 'string' }, user: { type: 'string' }, password: { type: 'string' }, apiToken: { type: 'string' }, mode: { type: 'string', enum: ['fast', 'safe'] } },
  },
  create: () => {
    throw new Error('not built in these tests');
  },
};
const withVault: ConnectorCatalog = { sources: SOURCES, targets: new Map([['vault-db', vaultDb]]) };

describe('parsePipeline: a valid file', () => {
  it('reads every setting of the full example', () => {
    const text = lines(
      '# yaml-language-server: $schema=../../pipelines/definition/pipeline.schema.json',
      'pipeline: change-of-address',
      'description: Change of address',
      'mapping: ../mappings/change-of-address.yaml',
      'source:',
      '  kind: file',
      '  config: { path: ../../fixtures/submissions/govuk-forms/change-of-address.ndjson }',
      'target:',
      '  kind: sqlite',
      '  config: { path: ../../.rekey/legacy.sqlite, table: DRV_ADDR_CHG, keyColumn: SUBMISSION_KEY, batchSize: 50 }',
      'schedule: { cron: "*/15 7-18 * * 1-5", timezone: Europe/London }',
      'batch: { size: 500 }',
      'limits: { concurrency: 2, ratePerSecond: 50 }',
      'window:',
      '  timezone: Europe/London',
      '  hours: [{ days: [mon, tue, wed, thu, fri], from: "07:00", to: "19:00" }, { days: [sat], from: "08:00", to: "12:00" }]',
      '  blackout: ["2026-12-25", "2026-12-26", { from: "2026-03-29", to: "2026-04-05", reason: year end }]',
      '  bankHolidays: england-and-wales',
      'retry: { maxAttempts: 8, initialDelay: 30s, maxDelay: 1h, multiplier: 2, jitter: 0.2 }',
      'retention: { bodies: 14d, evidence: 60d, inboxDone: 7d, inboxQuarantine: 30d, ledger: 365d }',
      'workers: 2',
    );
    const { def, problems } = parsePipeline('p.yaml', text);
    expect(problems).toEqual([]);
    expect(def).toEqual({
      pipeline: 'change-of-address',
      description: 'Change of address',
      file: 'p.yaml',
      mapping: '../mappings/change-of-address.yaml',
      source: { kind: 'file', config: { path: '../../fixtures/submissions/govuk-forms/change-of-address.ndjson' } },
      target: { kind: 'sqlite', config: { path: '../../.rekey/legacy.sqlite', table: 'DRV_ADDR_CHG', keyColumn: 'SUBMISSION_KEY', batchSize: 50 } },
      schedule: { cron: '*/15 7-18 * * 1-5', timezone: 'Europe/London' },
      batch: { size: 500 },
      limits: { concurrency: 2, ratePerSecond: 50 },
      window: {
        timezone: 'Europe/London',
        hours: [
          { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '19:00' },
          { days: ['sat'], from: '08:00', to: '12:00' },
        ],
        blackout: [
          { from: '2026-12-25', to: '2026-12-25' },
          { from: '2026-12-26', to: '2026-12-26' },
          { from: '2026-03-29', to: '2026-04-05', reason: 'year end' },
        ],
        bankHolidays: 'england-and-wales',
      },
      retry: { maxAttempts: 8, initialDelayMs: 30_000, maxDelayMs: 3_600_000, multiplier: 2, jitter: 0.2 },
      retention: { bodiesMs: 14 * 86_400_000, evidenceMs: 60 * 86_400_000, inboxDoneMs: 7 * 86_400_000, inboxQuarantineMs: 30 * 86_400_000, ledgerMs: 365 * 86_400_000 },
      workers: 2,
      secrets: [],
    });
  });

  it('fills in defaults', () => {
    const { def } = parsePipeline('p.yaml', minimal('schedule: { cron: "0 2 * * *" }', 'window: { blackout: ["2026-12-25"] }'));
    expect(def).toMatchObject({ batch: { size: 100 }, limits: { concurrency: 1 }, retry: DEFAULT_RETRY, retention: DEFAULT_RETENTION, schedule: { timezone: 'Europe/London' }, window: { timezone: 'Europe/London' } });
    expect(DEFAULT_RETENTION).toEqual({ bodiesMs: 30 * 86_400_000, evidenceMs: 90 * 86_400_000, inboxDoneMs: 30 * 86_400_000, inboxQuarantineMs: 90 * 86_400_000, ledgerMs: 730 * 86_400_000 });
    expect(def?.workers).toBeUndefined();
    expect(def?.limits.ratePerSecond).toBeUndefined();
  });
});

describe('parsePipeline: every problem, located', () => {
  it('checks a connector config against the connector’s own schema, with suggestions', () => {
    const text = lines(...head, 'target:', '  kind: sqlite', '  config:', '    path: legacy.sqlite', '    tabel: DRV_ADDR_CHG', '    keyColumn: SUBMISSION_KEY', '    batchSize: lots');
    expect(problemsOf(text)).toEqual([
      'p.yaml:9:5 missing key "table" under target.config (at target.config)',
      'p.yaml:10:5 unknown key "tabel" under target.config, did you mean "table"? (at target.config.tabel)',
      'p.yaml:12:16 "batchSize" must be integer, got string "lots" (at target.config.batchSize)',
    ]);
  });

  it('suggests a connector kind, or lists the kinds', () => {
    const text = lines('pipeline: p', 'mapping: m.yaml', 'source: { kind: fiel, config: { path: x } }', 'target: { kind: postgres, config: {} }');
    expect(problemsOf(text)).toEqual([
      'p.yaml:3:17 unknown source kind "fiel", did you mean "file"? (at source.kind)',
      `p.yaml:4:17 unknown target kind "postgres"; the target kinds are: ${[...TARGETS.keys()].join(', ')} (at target.kind)`,
    ]);
  });

  it('reports missing top-level keys and unknown ones', () => {
    expect(problemsOf(lines('pipeline: p', 'mapings: m.yaml', 'source: { kind: file, config: { path: x } }'))).toEqual([
      'p.yaml:1:1 missing key "mapping" under the top level',
      'p.yaml:1:1 missing key "target" under the top level',
      'p.yaml:2:1 unknown key "mapings" under the top level, did you mean "mapping"? (at mapings)',
    ]);
    expect(problemsOf('- a\n- b\n')).toEqual(['p.yaml:1:1 a pipeline file must be a YAML mapping with pipeline, mapping, source and target keys']);
    expect(problemsOf('pipeline: [\n')[0]).toMatch(/^p\.yaml:\d+:\d+ /);
  });

  it('points inside a cron expression at the bad field, and checks the zone', () => {
    expect(problemsOf(minimal('schedule: { cron: "*/15 7-24 * * 1-5", timezone: Europe/Londn }'))).toEqual([
      'p.yaml:9:27 cron hour 24 is out of range 0-23 (at schedule.cron)',
      'p.yaml:9:50 unknown time zone "Europe/Londn", did you mean "Europe/London"? (at schedule.timezone)',
    ]);
    expect(problemsOf(minimal('schedule:', '  cron: 0 2 31 2 *'))).toEqual(['p.yaml:10:13 cron never runs: no month it names has day 31 (at schedule.cron)']);
  });

  it('checks window hours, days, dates and regions', () => {
    const text = minimal(
      'window:',
      '  timezone: Mars/Olympus',
      '  hours:',
      '    - { days: [mon, sunday], from: "7:00", to: "19:00" }',
      '    - { days: [sat], from: "24:00", to: "24:00" }',
      '    - { days: [sun], from: "10:00", to: "10:00" }',
      '  blackout: ["25/12/2026", "2026-02-30", { from: "2026-04-05", to: "2026-03-29", reasn: year end }]',
      '  bankHolidays: england',
    );
    expect(problemsOf(text)).toEqual([
      'p.yaml:10:13 unknown time zone "Mars/Olympus" (at window.timezone)',
      'p.yaml:12:21 item 2 must be one of mon, tue, wed, thu, fri, sat, sun, got string "sunday" (at window.hours[0].days[1])',
      'p.yaml:12:36 "from" must be a time HH:MM on the 24-hour clock, got "7:00" (at window.hours[0].from)',
      'p.yaml:13:28 "from" cannot be 24:00; use 00:00 (at window.hours[1].from)',
      'p.yaml:14:41 "to" is the same as "from": these hours are empty (at window.hours[2].to)',
      'p.yaml:15:14 a blackout date must be yyyy-MM-dd, got "25/12/2026" (at window.blackout[0])',
      'p.yaml:15:28 "2026-02-30" is not a date in the calendar (at window.blackout[1])',
      'p.yaml:15:68 "to" (2026-03-29) is before "from" (2026-04-05) (at window.blackout[2].to)',
      'p.yaml:15:82 unknown key "reasn" under window.blackout[2], did you mean "reason"? (at window.blackout[2].reasn)',
      'p.yaml:16:17 "bankHolidays" must be one of england-and-wales, scotland, northern-ireland, got string "england" (at window.bankHolidays)',
    ]);
  });

  it('reads durations, and refuses bad, zero and inverted ones', () => {
    expect(problemsOf(minimal('retry: { initialDelay: 30 sec, maxDelay: 0s, jitter: 2 }'))).toEqual([
      'p.yaml:9:24 "initialDelay" must be a duration like 30s, 5m, 1h or 2d, got "30 sec" (at retry.initialDelay)',
      'p.yaml:9:42 "maxDelay" must be longer than 0 (at retry.maxDelay)',
      'p.yaml:9:54 "jitter" must be <= 1 (at retry.jitter)',
    ]);
    expect(problemsOf(minimal('retry: { initialDelay: 2h }'))).toEqual([
      'p.yaml:9:24 initialDelay (2h) is longer than maxDelay (1h, the default) (at retry.initialDelay)',
    ]);
  });

  it('reads retention periods, keeps the defaults of those left out, and refuses bad, zero and a ledger shorter than bodies', () => {
    expect(parsePipeline('p.yaml', minimal('retention: { bodies: 7d }')).def?.retention).toEqual({ ...DEFAULT_RETENTION, bodiesMs: 7 * 86_400_000 });
    expect(problemsOf(minimal('retention: { bodies: 30 days, evidence: 0d, inbox: 1d }'))).toEqual([
      'p.yaml:9:22 "bodies" must be a duration like 30s, 5m, 1h or 2d, got "30 days" (at retention.bodies)',
      'p.yaml:9:41 "evidence" must be longer than 0 (at retention.evidence)',
      'p.yaml:9:45 unknown key "inbox" under retention (at retention.inbox)',
    ]);
    expect(problemsOf(minimal('retention: { bodies: 800d }'))).toEqual([
      'p.yaml:9:22 retention.ledger (730d, the default) is shorter than retention.bodies (800d): a ledger row is kept at least as long as its body (at retention.bodies)',
    ]);
    expect(problemsOf(minimal('retention: { bodies: 30d, ledger: 7d }'))).toEqual([
      'p.yaml:9:35 retention.ledger (7d) is shorter than retention.bodies (30d): a ledger row is kept at least as long as its body (at retention.ledger)',
    ]);
  });

  it('sorts problems by position', () => {
    const text = lines('pipeline: "bad name"', 'mapping: m.yaml', 'source: { kind: fiel }', 'target: { kind: sqlite, config: {} }', 'workers: -1');
    const problems = parsePipeline('p.yaml', text).problems;
    expect(problems.map((p) => [p.line, p.col])).toEqual([...problems.map((p) => [p.line, p.col])].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));
    expect(problems.length).toBe(6);
  });
});

describe('parsePipeline: secrets', () => {
  const target = (...config: string[]) => lines(...head, 'target:', '  kind: vault-db', '  config:', ...config.map((c) => `    ${c}`));

  it('collects { env } and { file } references with their positions', () => {
    const { def, problems } = parsePipeline('p.yaml', target('url: { env: DB_URL }', 'user: rekey', 'password: { file: secrets/db.txt }'), withVault);
    expect(problems).toEqual([]);
    expect(def?.secrets).toEqual([
      { side: 'target', path: ['url'], from: { env: 'DB_URL' }, pos: { file: 'p.yaml', line: 9, col: 10 } },
      { side: 'target', path: ['password'], from: { file: 'secrets/db.txt' }, pos: { file: 'p.yaml', line: 11, col: 15 } },
    ]);
    expect(def?.target.config).toEqual({ url: { env: 'DB_URL' }, user: 'rekey', password: { file: 'secrets/db.txt' } });
  });

  it('refuses a secret written in the file, without repeating it', () => {
    const problems = problemsOf(target('url: x', 'password: hunter2-s3cret', 'apiToken: 123456'), withVault);
    expect(problems).toEqual([
      'p.yaml:10:15 "password" is a secret written in the file: put secrets in the environment: { env: NAME } (or in a file: { file: path }) (at target.config.password)',
      'p.yaml:11:15 "apiToken" must be { env: NAME } or { file: path } (at target.config.apiToken)',
    ]);
    expect(problems.join('\n')).not.toMatch(/hunter2|123456/);
  });

  it('refuses a URL with a password in it, without repeating it', () => {
    const problems = problemsOf(target('url: "postgres://rekey:pa55word@db.internal/cases"', 'user: rekey'), withVault);
    expect(problems).toEqual([
      'p.yaml:9:10 "url" is a URL with a password written in the file: put secrets in the environment: { env: NAME } (or in a file: { file: path }) (at target.config.url)',
    ]);
    expect(problems.join('\n')).not.toContain('pa55word');
    expect(problemsOf(target('url: "postgres://rekey@db.internal/cases"', 'user: rekey'), withVault)).toEqual([]);
  });

  it('says why a file-drop name template is refused: a path out of the drop folder', () => {
    const drop = (name: string) => lines(...head, 'target:', '  kind: file-drop', `  config: { folder: out, name: "${name}", format: { kind: csv, columns: [A] } }`);
    const why = 'must not hold a path separator (/ or \\) or "..", nor start with "." (it names a file in the drop folder)';
    expect(problemsOf(drop('../up_{seq:6}.csv'))).toEqual([`p.yaml:8:32 "name" ${why}, got string "../up_{seq:6}.csv" (at target.config.name)`]);
    expect(problemsOf(drop('.hidden_{seq:6}.csv'))).toEqual([`p.yaml:8:32 "name" ${why}, got string ".hidden_{seq:6}.csv" (at target.config.name)`]);
    expect(problemsOf(drop('x_{seq:6}.csv'))).toEqual([]);
  });

  it('checks the shape of a reference', () => {
    expect(problemsOf(target('url: { evn: DB_URL }', 'user: { env: "db user" }', 'password: { env: X, file: y }', 'mode: { env: MODE }'), withVault)).toEqual([
      'p.yaml:9:12 unknown key "evn" under target.config.url, did you mean "env"? (at target.config.url.evn)',
      'p.yaml:10:18 "env" must match ^[A-Za-z_][A-Za-z0-9_]*$, got string "db user" (at target.config.user.env)',
      'p.yaml:11:15 "password" must be { env: NAME } or { file: path } (at target.config.password)',
      'p.yaml:12:11 "mode" must be string, got a mapping (at target.config.mode)',
      'p.yaml:12:11 "mode" must be one of fast, safe, got a mapping (at target.config.mode)',
    ]);
  });
});

describe('parsePipeline: routes', () => {
  const src = ['pipeline: death', 'source: { kind: file, config: { path: in.ndjson } }'];
  const sqliteRoute = (name: string, table: string, ...more: string[]) => [
    `  - route: ${name}`,
    `    mapping: ${name}.yaml`,
    `    target: { kind: sqlite, config: { path: legacy.sqlite, table: ${table}, keyColumn: SUBMISSION_KEY } }`,
    ...more,
  ];

  it('reads each route as a definition of its own, named <pipeline>~<route>, the pipeline settings inherited where it sets none', () => {
    const text = lines(
      ...src,
      'batch: { size: 50 }',
      'limits: { concurrency: 2 }',
      'retry: { maxAttempts: 3 }',
      'routes:',
      ...sqliteRoute('licence', 'DL', '    when: { answer: Dl7wC4nB, exists: true }'),
      ...sqliteRoute('council', 'CT', '    batch: { size: 5 }', '    limits: { ratePerSecond: 2 }', '    retry: { maxAttempts: 9, initialDelay: 5m }', '    window: { hours: [{ days: [mon], from: "09:00", to: "17:00" }] }'),
    );
    const { def, problems } = parsePipeline('p.yaml', text);
    expect(problems).toEqual([]);
    expect(def?.routes?.map((r) => r.name)).toEqual(['licence', 'council']);
    const [licence, council] = def!.routes!;
    expect(licence!.when).toEqual({ answer: 'Dl7wC4nB', exists: true });
    expect(licence!.def).toMatchObject({ pipeline: 'death~licence', mapping: 'licence.yaml', target: { kind: 'sqlite', config: { table: 'DL' } }, batch: { size: 50 }, limits: { concurrency: 2 }, retry: { ...DEFAULT_RETRY, maxAttempts: 3 }, source: { kind: 'file' } });
    expect(licence!.def.window).toBeUndefined();
    expect(council!.def).toMatchObject({ pipeline: 'death~council', batch: { size: 5 }, limits: { concurrency: 2, ratePerSecond: 2 }, retry: { ...DEFAULT_RETRY, maxAttempts: 9, initialDelayMs: 300_000 } });
    expect(council!.def.window?.hours).toEqual([{ days: ['mon'], from: '09:00', to: '17:00' }]);
    expect(council!.when).toBeUndefined();
    expect(def).toMatchObject({ mapping: 'licence.yaml', target: { config: { table: 'DL' } } });
  });

  it('reports every problem of the routes where it is written', () => {
    const text = lines(
      ...src,
      'mapping: m.yaml',
      'routes:',
      ...sqliteRoute('licence', 'DL'),
      ...sqliteRoute('licence', 'DL2'),
      '  - route: "bad~name"',
      '    mapping: x.yaml',
      '    target: { kind: sqlit, config: {} }',
      '  - route: council',
      '    mapping: c.yaml',
      '    target: { kind: sqlite, config: { path: legacy.sqlite, tabel: CT, password: hunter2 } }',
      '    retry: { initialDelay: soon }',
    );
    expect(problemsOf(text)).toEqual([
      'p.yaml:3:10 a pipeline with routes names a mapping and a target in each route, not "mapping" beside them (at mapping)',
      'p.yaml:8:12 route "licence" is named twice (also item 1): each route needs a name of its own (at routes[1].route)',
      'p.yaml:11:12 "route" must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$, got string "bad~name" (at routes[2].route)',
      'p.yaml:13:21 unknown target kind "sqlit", did you mean "sqlite"? (at routes[2].target.kind)',
      'p.yaml:16:37 missing key "table" under routes[3].target.config (at routes[3].target.config)',
      'p.yaml:16:37 missing key "keyColumn" under routes[3].target.config (at routes[3].target.config)',
      'p.yaml:16:60 unknown key "tabel" under routes[3].target.config, did you mean "table"? (at routes[3].target.config.tabel)',
      'p.yaml:16:71 unknown key "password" under routes[3].target.config (at routes[3].target.config.password)',
      'p.yaml:16:81 "password" is a secret written in the file: put secrets in the environment: { env: NAME } (or in a file: { file: path }) (at routes[3].target.config.password)',
      'p.yaml:17:28 "initialDelay" must be a duration like 30s, 5m, 1h or 2d, got "soon" (at routes[3].retry.initialDelay)',
    ]);
  });

  it('reads the routes a route waits for, and refuses one it cannot wait for', () => {
    const ok = parsePipeline('p.yaml', lines(...src, 'routes:', ...sqliteRoute('a', 'A'), ...sqliteRoute('notify', 'N', '    after: [a]'))).def;
    expect(ok?.routes?.map((r) => r.after)).toEqual([undefined, ['a']]);
    const text = lines(...src, 'routes:', ...sqliteRoute('a', 'A', '    after: [a]'), ...sqliteRoute('b', 'B', '    after: [a, c, notify]'), ...sqliteRoute('notify', 'N', '    after: [aa]'));
    expect(problemsOf(text)).toEqual([
      'p.yaml:7:13 a route cannot wait for itself (at routes[0].after[0])',
      'p.yaml:11:13 route "a" waits for others itself: a route may wait only for routes told at once (at routes[1].after[0])',
      'p.yaml:11:16 no route is named "c" (at routes[1].after[1])',
      'p.yaml:11:19 route "notify" waits for others itself: a route may wait only for routes told at once (at routes[1].after[2])',
      'p.yaml:15:13 no route is named "aa" (at routes[2].after[0])',
    ]);
  });

  it('asks for mapping and target, or routes', () => {
    expect(problemsOf(lines(...src))).toEqual(['p.yaml:1:1 missing key "mapping" under the top level', 'p.yaml:1:1 missing key "target" under the top level']);
    expect(problemsOf(lines(...src, 'routes: []'))[0]).toMatch(/routes/);
  });
});
