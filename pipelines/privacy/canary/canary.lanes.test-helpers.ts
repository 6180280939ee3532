/**
 * The canary suite's drive: every path through every target by the real
 * CLI (the lanes run side by side, one per state store), the operator's
 * commands, purge and erasure; then the working folder searched, before
 * and after purge and erasure.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_USER, startLegacyApp } from '../../../fixtures/legacy-app/legacy-app.js';
import { TEST_DATA_KEY } from '../../../lib/envelope.test-helpers.js';
import { root } from '../../../runner/cli.test-helpers.js';
import { post } from '../../../runner/serve/intake.test-helpers.js';
import { scanTree, type Leak } from './canary.test-helpers.js';
import { ndjson, submission, type Person } from './canary.people.test-helpers.js';
import {
  BROWSER_STATE,
  Captured,
  FAST_RETRY,
  MAIN,
  MAPPING,
  MARIA_TABLE,
  PG_STATE,
  PG_TABLE,
  ROTATED_KEY,
  SHORT_RETENTION,
  SQLITE_STATE,
  W,
  badRef,
  canaries,
  childEnv,
  chromium,
  cli,
  corrected,
  dirs,
  fromExample,
  has,
  keysOf,
  legacy,
  mariaQuery,
  mariaTable,
  mariaUrl,
  mariaUser,
  outputs,
  people,
  pgQuery,
  pgSchema,
  pgStateSchema,
  pgTargetUrl,
  problems,
  quarantined,
  unreadableLine,
  secrets,
  sqliteColumn,
  sqliteTarget,
  summary,
  want,
  writePipeline,
} from './canary.run.test-helpers.js';

/** The SQLite target through every path the ledger has: delivered, rejected, corrected (a conflict), replayed. Logs drawn pretty. */
async function sqliteLane(): Promise<void> {
  const source = join(dirs.input, 'sqlite.ndjson');
  writeFileSync(source, `${ndjson([people.sqliteGood, people.sqliteBad])}[${unreadableLine}]\n`);
  const file = writePipeline(dirs.pipelines, 'canary-sqlite', { pipeline: 'canary-sqlite', mapping: MAPPING, source: { kind: 'file', config: { path: source } }, target: sqliteTarget('sqlite.sqlite'), retry: FAST_RETRY, workers: 0, retention: SHORT_RETENTION });
  keysOf['canary-sqlite'] = { state: SQLITE_STATE, people: [people.sqliteGood, people.sqliteBad] };
  const first = await cli('run canary-sqlite', ['run', '--state', SQLITE_STATE, file], { pretty: true });
  want(first, /delivered\s+1\b/.test(first.stdout), 'delivered 1');
  writeFileSync(source, ndjson([corrected, people.sqliteBad]));
  const second = await cli('run canary-sqlite, corrected resent', ['run', '--json', '--state', SQLITE_STATE, file]);
  want(second, has(summary(second), { conflicts: 1 }), 'conflicts 1');
  const replay = await cli('replay canary-sqlite', ['replay', '--state', SQLITE_STATE, 'canary-sqlite', people.sqliteGood.key], { pretty: true });
  want(replay, replay.code === 0, 'exit 0');
  await cli('run canary-sqlite after replay', ['run', '--state', SQLITE_STATE, file], { pretty: true });

  const drop = fromExample('file-drop-change-of-address.yaml', 'canary-drop', (d) => {
    d.source.config.path = join(dirs.input, 'drop.ndjson');
    d.target.config.folder = join(dirs.legacy, 'drop');
  });
  writeFileSync(join(dirs.input, 'drop.ndjson'), ndjson([people.dropGood, people.dropBad]));
  keysOf['canary-drop'] = { state: SQLITE_STATE, people: [people.dropGood, people.dropBad] };
  const dropRun = await cli('run canary-drop', ['run', '--json', '--workers', '0', '--state', SQLITE_STATE, drop]);
  want(dropRun, has(summary(dropRun), { delivered: 1, rejected: 1 }), 'delivered 1, rejected 1');

  const inbox = fromExample('inbox-change-of-address.yaml', 'canary-inbox', (d) => {
    d.source.config.path = dirs.inbox;
    d.source.config.settle = '100ms';
    d.target = sqliteTarget('inbox.sqlite');
    d.workers = 0;
    d.retention = SHORT_RETENTION;
  });
  mkdirSync(dirs.inbox, { recursive: true });
  const past = new Date(Date.now() - 60_000);
  writeFileSync(join(dirs.inbox, 'good.ndjson'), ndjson([people.inboxGood, people.inboxBad]));
  // Short, so that V8's JSON.parse message would quote all of it.
  writeFileSync(join(dirs.inbox, 'broken.json'), `[${quarantined}]`);
  for (const f of ['good.ndjson', 'broken.json']) utimesSync(join(dirs.inbox, f), past, past);
  keysOf['canary-inbox'] = { state: SQLITE_STATE, people: [people.inboxGood, people.inboxBad] };
  const inboxRun = await cli('run canary-inbox', ['run', '--json', '--state', SQLITE_STATE, inbox]);
  want(inboxRun, has(summary(inboxRun), { delivered: 1, rejected: 1 }), 'delivered 1, rejected 1');

  const mariaFile = writePipeline(dirs.pipelines, 'canary-mariadb', {
    pipeline: 'canary-mariadb',
    mapping: MAPPING,
    source: { kind: 'file', config: { path: join(dirs.input, 'mariadb.ndjson') } },
    target: { kind: 'sql', config: { url: { env: 'CANARY_MARIA_URL' }, table: mariaTable, keyColumn: 'submission_key', batchSize: 1 } },
    batch: { size: 1 },
    retry: FAST_RETRY,
    workers: 0,
  });
  writeFileSync(join(dirs.input, 'mariadb.ndjson'), ndjson([people.mariaGood, people.mariaRefused]));
  keysOf['canary-mariadb'] = { state: SQLITE_STATE, people: [people.mariaGood, people.mariaRefused] };
  const mariaRun = await cli('run canary-mariadb', ['run', '--json', '--state', SQLITE_STATE, mariaFile]);
  want(mariaRun, has(summary(mariaRun), { delivered: 1 }), 'delivered 1');

  await webhookLane();
  await refusedConnections();
}

/**
 * Legacy databases that cannot be reached or refuse the password: what
 * `validate --connect`, `run` and `dlq list` say must not carry the
 * password from the URL.
 */
async function refusedConnections(): Promise<void> {
  const down = new URL(pgTargetUrl);
  down.port = '1';
  const denied = new URL(mariaUrl);
  denied.password = secrets.mariaWrong;
  const files = [
    writePipeline(dirs.pipelines, 'canary-pg-down', {
      pipeline: 'canary-pg-down',
      mapping: MAPPING,
      source: { kind: 'file', config: { path: join(dirs.input, 'pg-down.ndjson') } },
      target: { kind: 'sql', config: { url: { env: 'CANARY_PG_DOWN_URL' }, table: `${pgSchema}.drv_addr_chg`, keyColumn: 'submission_key' } },
      retry: FAST_RETRY,
      workers: 0,
    }),
    writePipeline(dirs.pipelines, 'canary-mariadb-denied', {
      pipeline: 'canary-mariadb-denied',
      mapping: MAPPING,
      source: { kind: 'file', config: { path: join(dirs.input, 'pg-down.ndjson') } },
      target: { kind: 'sql', config: { url: { env: 'CANARY_MARIA_DENIED_URL' }, table: mariaTable, keyColumn: 'submission_key' } },
      retry: FAST_RETRY,
      workers: 0,
    }),
  ];
  writeFileSync(join(dirs.input, 'pg-down.ndjson'), ndjson([people.unreachable]));
  const env = { CANARY_PG_DOWN_URL: down.toString(), CANARY_MARIA_DENIED_URL: denied.toString() };
  await Promise.all([
    cli('validate --connect', ['validate', '--connect', join(dirs.pipelines, 'canary-pg.yaml'), join(dirs.pipelines, 'canary-mariadb.yaml'), ...files], { env }),
    ...files.map((f) => cli(`run --debug ${f.split('/').pop()}`, ['run', '--debug', '--json', '--state', SQLITE_STATE, f], { env })),
  ]);
  await Promise.all(['canary-pg-down', 'canary-mariadb-denied'].map((p) => cli(`dlq list ${p}`, ['dlq', 'list', '--failed', '--state', SQLITE_STATE, p])));
}

/** `rekey serve` with the webhook example: one signed submission keyed, one refused by the schema, one with a bad signature. */
async function webhookLane(): Promise<void> {
  fromExample('webhook-change-of-address.yaml', 'canary-hook', (d) => {
    d.source.config.schema = join(root, 'examples/pipelines/webhook-change-of-address.schema.json');
    d.target = sqliteTarget('hook.sqlite');
  });
  mkdirSync(dirs.serve, { recursive: true });
  writeFileSync(join(dirs.serve, 'canary-hook.yaml'), readFileSync(join(dirs.pipelines, 'canary-hook.yaml')));
  rmSync(join(dirs.pipelines, 'canary-hook.yaml'));
  keysOf['canary-hook'] = { state: SQLITE_STATE, people: [people.hookGood] };
  const child = spawn(process.execPath, [MAIN, 'serve', dirs.serve, '--port', '0', '--state', SQLITE_STATE], { cwd: W, env: childEnv(false), stdio: ['ignore', 'pipe', 'pipe'] });
  const captured: Captured = { label: 'serve canary-hook', code: null, stdout: '', stderr: '' };
  outputs.push(captured);
  child.stdout.on('data', (d: Buffer) => (captured.stdout += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', (code) => ((captured.code = code), resolve())));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        captured.stderr += d.toString();
        const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"serving"/.exec(captured.stderr);
        if (m) resolve(m[1]!);
      });
      void exited.then(() => reject(new Error(`serve exited before listening:\n${captured.stderr}`)));
    });
    const intake = `${url}/intake/canary-hook`;
    const statuses = [
      (await post(intake, submission(people.hookGood), { secret: secrets.hook })).status,
      (await post(intake, { ...submission(people.hookRefused), submission_reference: badRef }, { secret: secrets.hook })).status,
      (await post(intake, submission(people.hookRefused), { secret: 'not-the-signing-key-at-all' })).status,
    ];
    want(captured, statuses[0]! < 300 && statuses[1]! >= 400 && statuses[2]! >= 400, `intake answers ${statuses.join(', ')}: want accepted, refused, refused`);
    const legacy = join(dirs.legacy, 'hook.sqlite');
    for (let i = 0; i < 150; i++) {
      const keyed = await sqliteColumn(legacy, 'SELECT SURNAME AS v FROM DRV_ADDR_CHG').catch((): string[] => []);
      if (keyed.includes(people.hookGood.surname)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const path of ['/status', '/metrics', '/health']) {
      const res = await fetch(`${url}${path}`);
      outputs.push({ label: `serve GET ${path}`, code: res.status, stdout: await res.text(), stderr: '' });
    }
  } finally {
    child.kill('SIGTERM');
    const slow = setTimeout(() => {
      problems.push('serve did not stop within 20 s of SIGTERM');
      child.kill('SIGKILL');
    }, 20_000);
    await exited;
    clearTimeout(slow);
  }
}

/** PostgreSQL target and state store: delivered, retried once, dead-lettered, refused by a CHECK; the dead one retried by an operator. */
async function postgresLane(): Promise<void> {
  await pgQuery(PG_TABLE);
  const file = writePipeline(dirs.pipelines, 'canary-pg', {
    pipeline: 'canary-pg',
    mapping: MAPPING,
    source: { kind: 'file', config: { path: join(dirs.input, 'pg.ndjson') } },
    target: { kind: 'sql', config: { url: { env: 'CANARY_PG_URL' }, table: `${pgSchema}.drv_addr_chg`, keyColumn: 'submission_key', batchSize: 1 } },
    batch: { size: 1 },
    limits: { concurrency: 1 },
    retry: FAST_RETRY,
    workers: 0,
  });
  const list = [people.pgGood, people.pgRetry, people.pgDead, people.pgRefused];
  writeFileSync(join(dirs.input, 'pg.ndjson'), ndjson(list));
  keysOf['canary-pg'] = { state: PG_STATE, people: list };
  const run = await cli('run canary-pg', ['run', '--json', '--wait', '20s', '--state', PG_STATE, file]);
  want(run, has(summary(run), { delivered: 2, dead: 1 }), 'delivered 2, dead 1');
  await cli('dlq retry canary-pg', ['dlq', 'retry', '--state', PG_STATE, 'canary-pg', people.pgDead.key]);
  await cli('run canary-pg after dlq retry', ['run', '--wait', '20s', '--state', PG_STATE, file], { pretty: true });
}

/** The browser example against the legacy app: one keyed, one whose save is lost (retried, probed), one the app refuses (unknown postcode). */
async function browserLane(): Promise<void> {
  if (!chromium) return;
  legacy.app = await startLegacyApp({ users: { [DEFAULT_USER.username]: secrets.dcs }, unknownPostcodes: [people.browserRefused.postcode.toUpperCase()], chaos: { loseNextSaves: 1 } });
  const file = fromExample('browser-change-of-address.yaml', 'canary-browser', (d) => {
    d.source.config.path = join(dirs.input, 'browser.ndjson');
    d.target.config.baseUrl = legacy.app!.url;
    d.target.config.contexts = 1;
    d.target.config.executablePath = chromium;
    d.target.config.evidence = { folder: dirs.evidence, confirmations: true, traces: 'always' };
    d.retry = FAST_RETRY;
  });
  const list = [people.browserGood, people.browserLost, people.browserRefused];
  writeFileSync(join(dirs.input, 'browser.ndjson'), ndjson(list));
  keysOf['canary-browser'] = { state: BROWSER_STATE, people: list };
  const run = await cli('run canary-browser', ['run', '--json', '--wait', '30s', '--state', BROWSER_STATE, file]);
  want(run, has(summary(run), { delivered: 2 }), 'delivered 2');
  for (const p of list) await cli(`evidence canary-browser ${p.tag}`, ['evidence', '--state', BROWSER_STATE, '--out', join(OPENED_EVIDENCE, p.tag), 'canary-browser', p.key]);
}

/** Shown as a table too (JSON shows every submission): one of each kind of last error. */
const TABLES_SHOWN = new Set<Person>([people.sqliteBad, people.pgDead, people.pgRefused, people.mariaRefused, people.browserRefused]);

/** The operator's view: status, dead letters, each submission shown, audit verified and exported. */
async function operatorCommands(): Promise<void> {
  const jobs: [string, string[]][] = [];
  for (const state of [SQLITE_STATE, BROWSER_STATE, PG_STATE]) jobs.push(['status --json', ['status', '--json', '--state', state]], ['audit export json', ['audit', 'export', '--format', 'json', '--state', state]]);
  jobs.push(['status', ['status', '--state', SQLITE_STATE]], ['audit export csv', ['audit', 'export', '--state', SQLITE_STATE]]);
  jobs.push([CONTROL, ['dlq', 'show', '--body', '--json', '--state', SQLITE_STATE, 'canary-sqlite', people.sqliteBad.key]]);
  jobs.push(['audit export --out', ['audit', 'export', '--state', SQLITE_STATE, '--out', join(dirs.reports, 'audit.csv')]]);
  jobs.push(['keys status', ['keys', 'status', '--state', SQLITE_STATE]], ['files canary-inbox', ['files', '--state', SQLITE_STATE, 'canary-inbox']], ['files --json canary-browser', ['files', '--json', '--state', BROWSER_STATE, 'canary-browser']]);
  for (const [pipeline, { state, people: list }] of Object.entries(keysOf)) {
    jobs.push([`dlq list --json ${pipeline}`, ['dlq', 'list', '--failed', '--json', '--state', state, pipeline]]);
    if (pipeline === 'canary-pg') jobs.push([`dlq list ${pipeline}`, ['dlq', 'list', '--failed', '--state', state, pipeline]]);
    // An auditor's proof of one submission's entries: printed, and for one pipeline written to a file, both searched.
    jobs.push([`audit prove ${pipeline}`, ['audit', 'prove', '--state', state, pipeline, list[0]!.key, ...(pipeline === 'canary-sqlite' ? ['--out', join(dirs.reports, 'proof.json')] : [])]]);
    for (const p of list) {
      jobs.push([`dlq show --json ${pipeline} ${p.tag}`, ['dlq', 'show', '--json', '--state', state, pipeline, p.key]]);
      if (TABLES_SHOWN.has(p)) jobs.push([`dlq show ${pipeline} ${p.tag}`, ['dlq', 'show', '--state', state, pipeline, p.key]]);
    }
  }
  mkdirSync(dirs.reports, { recursive: true });
  for (let i = 0; i < jobs.length; i += 4) await Promise.all(jobs.slice(i, i + 4).map(([label, args]) => cli(label, args)));
}

/**
 * Purge and erasure: bodies and inbox copies past a one-second retention
 * purged; one submission per state store erased; replay and retry of what
 * is gone refused; the audit chains verified and exported again.
 */
async function purgeAndErase(): Promise<void> {
  const purged = [join(dirs.pipelines, 'canary-sqlite.yaml'), join(dirs.pipelines, 'canary-inbox.yaml')];
  await new Promise((r) => setTimeout(r, 1100));
  await cli('purge --dry-run', ['purge', '--dry-run', '--state', SQLITE_STATE, ...purged]);
  const purge = await cli('purge', ['purge', '--json', '--state', SQLITE_STATE, ...purged]);
  want(purge, purge.code === 0 && /"kind": "bodies"/.test(purge.stdout), 'bodies purged');
  const erasures: [string, string, Person][] = [
    [PG_STATE, 'canary-pg', people.pgDead],
    [BROWSER_STATE, 'canary-browser', people.browserGood],
    [SQLITE_STATE, 'canary-drop', people.dropGood],
  ];
  for (const [state, pipeline, p] of erasures) {
    const c = await cli(`erase ${pipeline} ${p.tag}`, ['erase', '--state', state, '--reason', 'SAR-2026-0042', pipeline, p.key]);
    want(c, c.code === 0, 'erased');
  }
  const refused: [string, string[], string][] = [
    ['replay of a purged body', ['replay', '--state', SQLITE_STATE, 'canary-sqlite', people.sqliteGood.key], 'BODY_PURGED'],
    ['replay of an erased submission', ['replay', '--state', BROWSER_STATE, 'canary-browser', people.browserGood.key], 'SUBMISSION_ERASED'],
    ['dlq retry of an erased submission', ['dlq', 'retry', '--state', PG_STATE, 'canary-pg', people.pgDead.key], 'SUBMISSION_ERASED'],
  ];
  for (const [label, args, code] of refused) {
    const c = await cli(label, args);
    want(c, c.code !== 0 && c.stderr.includes(code), `refused with ${code}`);
  }
  const jobs: [string, string[]][] = [];
  for (const state of [SQLITE_STATE, BROWSER_STATE, PG_STATE]) jobs.push(['audit verify after erasure', ['audit', 'verify', '--state', state]], ['audit export after erasure', ['audit', 'export', '--format', 'json', '--state', state]]);
  for (const [state, pipeline, p] of [...erasures, [SQLITE_STATE, 'canary-sqlite', people.sqliteGood] as const]) jobs.push([`dlq show ${pipeline} ${p.tag} after erasure or purge`, ['dlq', 'show', '--state', state, pipeline, p.key]]);
  for (let i = 0; i < jobs.length; i += 4) await Promise.all(jobs.slice(i, i + 4).map(([label, args]) => cli(label, args)));
  for (const c of outputs.filter((o) => o.label === 'audit verify after erasure')) want(c, c.code === 0, 'the audit chain verifies after erasure');

  const rotated = { REKEY_DATA_KEY: ROTATED_KEY, REKEY_DATA_KEY_PREVIOUS: TEST_DATA_KEY };
  const rotate = await cli('keys rotate', ['keys', 'rotate', '--state', BROWSER_STATE], { env: rotated });
  want(rotate, rotate.code === 0 && /re-wrapped/.test(rotate.stdout), 're-wrapped');
  await Promise.all([cli('keys status after rotation', ['keys', 'status', '--state', BROWSER_STATE], { env: rotated }), cli('audit export after rotation', ['audit', 'export', '--format', 'json', '--state', BROWSER_STATE], { env: rotated })]);
}


/** Both scans of the working folder together, each leak and file once. */
function mergeScans(a: { files: string[]; leaks: Leak[] }, b: { files: string[]; leaks: Leak[] }): { files: string[]; leaks: Leak[] } {
  return { files: [...new Set([...a.files, ...b.files])], leaks: [...a.leaks, ...b.leaks] };
}

/**
 * Where `rekey evidence` writes the operator's decrypted copies: with the
 * legacy targets, left out of the search (a clear copy is what was asked
 * for), and searched on their own for secrets and other people's data.
 */
export const OPENED_EVIDENCE = join(dirs.legacy, 'opened-evidence');

/** The label of `dlq show --body`, which prints a body on purpose: the control that the search finds values in real output. */
export const CONTROL = 'control: dlq show --body';

/** The legacy targets and the canaries' inputs: left out of the search. */
export const inLegacy = (f: string) => f.startsWith(`${dirs.legacy}/`) || f.startsWith(`${dirs.input}/`);

/**
 * Drives every lane, the operator's commands, purge and erasure, and
 * resolves to the search of the working folder (both scans together).
 * What went otherwise than planned is left in `problems`.
 */
export async function drive(): Promise<{ files: string[]; leaks: Leak[] }> {
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  await mariaQuery(MARIA_TABLE);
  const lanes = await Promise.allSettled([sqliteLane(), postgresLane(), browserLane()]);
  for (const l of lanes) if (l.status === 'rejected') problems.push(`a lane stopped: ${l.reason instanceof Error ? (l.reason.stack ?? l.reason.message) : String(l.reason)}`);
  await operatorCommands();
  const before = scanTree(canaries, W, inLegacy);
  await purgeAndErase().catch((e: unknown) => problems.push(`purge and erase stopped: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
  return mergeScans(before, scanTree(canaries, W, inLegacy));
}

/** Stops the legacy app, drops the schemas, table and user made, removes the working folder (kept, with the outputs, under REKEY_CANARY_KEEP). */
export async function cleanUp(): Promise<void> {
  await legacy.app?.close();
  await pgQuery(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE; DROP SCHEMA IF EXISTS ${pgStateSchema} CASCADE`).catch(() => undefined);
  await mariaQuery(`DROP TABLE IF EXISTS ${mariaTable}; DROP USER IF EXISTS '${mariaUser}'@'%'; DROP USER IF EXISTS '${mariaUser}'@'localhost'`).catch(() => undefined);
  if (process.env.REKEY_CANARY_KEEP) writeFileSync(`${W}.outputs.json`, JSON.stringify(outputs, null, 2));
  else rmSync(W, { recursive: true, force: true });
}
