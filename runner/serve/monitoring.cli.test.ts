import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sequelize } from 'sequelize';
import { describe, expect, it } from 'vitest';
import { freePort, rekey, root, TEST_PII_KEY_HEX } from '../cli.test-helpers.js';
import { TEST_DATA_KEY } from '../../lib/envelope.test-helpers.js';
import { PG_URL } from '../../connectors/sql/sql.test-helpers.js';

const FILES = [
  'examples/pipelines/change-of-address.yaml',
  'examples/pipelines/sql-postgres-change-of-address.yaml',
  'examples/pipelines/file-drop-change-of-address.yaml',
  'examples/mappings/change-of-address.yaml',
  'fixtures/submissions/govuk-forms/change-of-address.ndjson',
  'fixtures/legacy/drv_addr_chg.sqlite.sql',
  'fixtures/legacy/drv_addr_chg.postgres.sql',
];

/** A temp copy of the quick start (and the PostgreSQL example), laid out as in the repository. */
function example(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-monitoring-'));
  for (const f of FILES) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    copyFileSync(join(root, f), join(dir, f));
  }
  return dir;
}

/** Citizens' values in the quick-start fixture: every answer but the questions, and each submission's reference. */
function canaries(): string[] {
  const values = new Set<string>();
  for (const line of readFileSync(join(root, FILES[4]!), 'utf8').split('\n').filter(Boolean)) {
    const s = JSON.parse(line) as { submission_reference: string; answers: Record<string, string>[] };
    values.add(s.submission_reference);
    for (const a of s.answers) {
      for (const [k, v] of Object.entries(a)) if (k !== 'question_id' && k !== 'question_text' && typeof v === 'string') values.add(v);
    }
  }
  return [...values].filter((v) => v.length >= 4);
}

interface Served {
  child: ChildProcess;
  stderr: () => string;
  get(path: string): Promise<Response>;
  stop(): Promise<number | null>;
}

async function serve(dir: string, folder: string, args: string[], env: Record<string, string> = {}): Promise<Served> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', folder, '--port', String(port), ...args], {
    cwd: dir,
    env: { REKEY_DATA_KEY: TEST_DATA_KEY, ...process.env, REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stderr: () => stderr,
    get: (path) => fetch(`http://127.0.0.1:${port}${path}`),
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Asks `path` until `done` holds of the answer (or 60 tries, a quarter second apart), and resolves to the last answer. */
async function poll<T>(s: Served, path: string, read: (r: Response) => Promise<T>, done: (t: T) => boolean): Promise<T | undefined> {
  let last: T | undefined;
  for (let i = 0; i < 120; i++) {
    await new Promise((r) => setTimeout(r, 250));
    try {
      last = await read(await s.get(path));
      if (done(last)) return last;
    } catch {
      /* not listening yet */
    }
  }
  return last;
}

function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('rekey serve monitoring (as a process)', () => {
  it('counts a real pass of the quick start in /metrics, for the served pipeline only, and holds no citizen value', async () => {
    const dir = example();
    const quick = join(dir, 'examples/pipelines/change-of-address.yaml');
    rmSync(join(dir, 'examples/pipelines/sql-postgres-change-of-address.yaml'));
    rmSync(join(dir, 'examples/pipelines/file-drop-change-of-address.yaml'));
    const other = join(dir, 'examples/other/other.yaml');
    mkdirSync(join(dir, 'examples/other'));
    writeFileSync(other, readFileSync(quick, 'utf8').replace('pipeline: change-of-address', 'pipeline: other-address').replace('legacy.sqlite', 'legacy-other.sqlite'));
    const ran = await rekey(['run', '--json', 'examples/other/other.yaml'], dir, { REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX });
    expect(JSON.parse(ran.stdout)).toMatchObject({ pipeline: 'other-address', delivered: 6 });
    writeFileSync(quick, readFileSync(quick, 'utf8').replace(/^schedule: .*$/m, ''));
    const s = await serve(dir, join(dir, 'examples/pipelines'), ['--run-at-start'], { REKEY_LOG_LEVEL: 'info' });
    try {
      type Status = { pipelines: { name: string; lastFinished: string | null }[] };
      const status = await poll(s, '/status', (r) => r.json() as Promise<Status>, (st) => Boolean(st.pipelines[0]?.lastFinished));
      expect(status?.pipelines.map((p) => p.name)).toEqual(['change-of-address']);
      const metrics = await (await s.get('/metrics')).text();
      const p = 'pipeline="change-of-address"';
      expect(sample(metrics, `rekey_submissions_total{${p},state="received"}`)).toBe(11);
      expect(sample(metrics, `rekey_submissions_total{${p},state="delivered"}`)).toBe(6);
      expect(sample(metrics, `rekey_submissions_total{${p},state="rejected"}`)).toBe(5);
      expect(sample(metrics, `rekey_submissions_total{${p},state="duplicate"}`)).toBe(0);
      expect(sample(metrics, `rekey_submissions_total{${p},state="dead"}`)).toBe(0);
      expect(sample(metrics, `rekey_deliveries_total{${p},target="sqlite",outcome="delivered"}`)).toBe(6);
      expect(sample(metrics, `rekey_passes_total{${p},outcome="ok"}`)).toBe(1);
      expect(sample(metrics, `rekey_pass_duration_seconds_count{${p}}`)).toBe(1);
      expect(sample(metrics, `rekey_delivery_duration_seconds_count{${p},target="sqlite"}`)).toBeGreaterThanOrEqual(1);
      expect(metrics).toContain(`rekey_pass_duration_seconds_bucket{le="+Inf",${p}} 1`);
      expect(sample(metrics, `rekey_last_success_timestamp_seconds{${p}}`)).toBeGreaterThan(Date.parse(status!.pipelines[0]!.lastFinished!) / 1000 - 1);
      expect(sample(metrics, `rekey_dead_letters{${p}}`)).toBe(0);
      expect(sample(metrics, `rekey_ledger_submissions{${p},state="delivered"}`)).toBe(6);
      expect(sample(metrics, `rekey_pass_running{${p}}`)).toBe(0);
      expect(sample(metrics, `rekey_pipeline_up{${p}}`)).toBe(1);
      expect(metrics).toMatch(/^# TYPE rekey_submissions_total counter$/m);
      expect(metrics).toMatch(/^# TYPE rekey_delivery_duration_seconds histogram$/m);
      expect(metrics).toMatch(/^process_cpu_seconds_total \d/m);
      expect(metrics).not.toContain('other-address');
      const ready = await s.get('/ready');
      const readyBody = await ready.text();
      expect(ready.status).toBe(200);
      expect(JSON.parse(readyBody)).toMatchObject({ status: 'ready', pipelines: { 'change-of-address': { status: 'ready' } } });
      expect(readyBody).not.toContain('other-address');
      const health = await s.get('/health');
      expect(health.status).toBe(200);
      const answers = [metrics, readyBody, await health.text(), await (await s.get('/status')).text()];
      expect(await s.stop()).toBe(0);
      const passLines = s.stderr().split('\n').filter((l) => l.includes('"pass finished"'));
      expect(passLines).toHaveLength(1);
      expect(passLines[0]).toMatch(/"pipeline":"change-of-address".*"delivered":6.*"durationMs":\d+/);
      const said = [...answers, s.stderr()].join('\n').replaceAll('Europe/London', 'the schedule\'s time zone');
      expect(canaries().filter((v) => said.includes(v))).toEqual([]);
    } finally {
      s.child.kill('SIGKILL');
    }
  }, 90_000);

  it('reports a pipeline whose PostgreSQL database does not exist as degraded after its failed pass, without its password, and ready once it does', async () => {
    const dir = example();
    const db = `rekey_ready_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
    const url = new URL(PG_URL);
    url.password = 'canary-Pa55word';
    url.pathname = `/${db}`;
    rmSync(join(dir, 'examples/pipelines/file-drop-change-of-address.yaml'));
    const s = await serve(dir, join(dir, 'examples/pipelines'), ['--run-at-start'], { REKEY_LEGACY_URL: url.toString(), REKEY_LOG_LEVEL: 'info' });
    const admin = new Sequelize(PG_URL, { logging: false, dialect: 'postgres' });
    try {
      type Ready = { status: number; body: string };
      const read = async (r: Response): Promise<Ready> => ({ status: r.status, body: await r.text() });
      const degraded = await poll(s, '/ready', read, (r) => r.status === 503 && r.body.includes('"by":"probe"') && !r.body.includes('"starting"'));
      expect(degraded?.status).toBe(503);
      const body = JSON.parse(degraded!.body) as { status: string; pipelines: Record<string, { status: string; code?: string; reason?: string; by?: string }> };
      expect(body.status).toBe('not ready');
      const pg = body.pipelines['sql-postgres-change-of-address'];
      expect(pg).toMatchObject({ status: 'degraded', by: 'probe' });
      expect(pg?.code).toMatch(/^[A-Z_]+$/);
      expect(pg?.reason).toContain(db);
      expect(body.pipelines['change-of-address']).toMatchObject({ status: 'ready' });
      const metrics = await (await s.get('/metrics')).text();
      expect(sample(metrics, 'rekey_pipeline_up{pipeline="sql-postgres-change-of-address"}')).toBe(0);
      expect(sample(metrics, 'rekey_passes_total{pipeline="sql-postgres-change-of-address",outcome="failed"}')).toBe(1);
      expect(sample(metrics, 'rekey_submissions_total{pipeline="sql-postgres-change-of-address",state="received"}')).toBe(0);
      expect(s.stderr()).toMatch(new RegExp(`"pipeline":"sql-postgres-change-of-address".*"code":"${pg!.code}".*"target connect failed"`));
      expect((await s.get('/health')).status).toBe(200);
      await admin.query(`CREATE DATABASE ${db}`);
      const recovered = await poll(s, '/ready', read, (r) => r.status === 200);
      expect(recovered?.status).toBe(200);
      expect(JSON.parse(recovered!.body)).toMatchObject({ status: 'ready', pipelines: { 'sql-postgres-change-of-address': { status: 'ready', by: 'probe' } } });
      expect(await s.stop()).toBe(0);
      const said = [degraded!.body, recovered!.body, metrics, s.stderr()].join('\n');
      expect(said).not.toContain('canary-Pa55word');
    } finally {
      s.child.kill('SIGKILL');
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
      await admin.close();
    }
  }, 90_000);

  it('reports a file drop whose folder cannot be made as degraded, then counts held and flushed records once it can', async () => {
    const dir = example();
    const pipelines = join(dir, 'examples/pipelines');
    for (const f of ['change-of-address.yaml', 'sql-postgres-change-of-address.yaml']) rmSync(join(pipelines, f));
    const file = join(pipelines, 'file-drop-change-of-address.yaml');
    const every = 'schedule: { cron: "*/2 * * * * *", timezone: Europe/London }';
    writeFileSync(file, `${readFileSync(file, 'utf8').replace('../../.rekey/drop/change-of-address', '../../blocker/drop')}\n${every}\n`);
    writeFileSync(join(dir, 'blocker'), 'a file where the drop folder should be\n');
    const s = await serve(dir, pipelines, []);
    const name = 'file-drop-change-of-address';
    try {
      type Ready = { status: number; body: string };
      const read = async (r: Response): Promise<Ready> => ({ status: r.status, body: await r.text() });
      const degraded = await poll(s, '/ready', read, (r) => r.status === 503 && r.body.includes('"by":"probe"'));
      expect(degraded?.status).toBe(503);
      const fd = (JSON.parse(degraded!.body) as { pipelines: Record<string, { status: string; code?: string; reason?: string }> }).pipelines[name];
      expect(fd?.status).toBe('degraded');
      expect(fd?.code).toMatch(/^[A-Z_]+$/);
      expect(fd?.reason).toBeTruthy();
      rmSync(join(dir, 'blocker'));
      type Status = { pipelines: { counts: Record<string, number> }[] };
      const status = await poll(s, '/status', (r) => r.json() as Promise<Status>, (st) => st.pipelines[0]?.counts.delivered === 6);
      expect(status?.pipelines[0]?.counts.delivered).toBe(6);
      const ready = await poll(s, '/ready', read, (r) => r.status === 200);
      expect(ready?.status).toBe(200);
      const metrics = await (await s.get('/metrics')).text();
      const p = `pipeline="${name}",target="file-drop"`;
      expect(sample(metrics, `rekey_deliveries_total{${p},outcome="held"}`)).toBe(6);
      expect(sample(metrics, `rekey_deliveries_total{${p},outcome="delivered"}`)).toBe(6);
      expect(sample(metrics, `rekey_passes_total{pipeline="${name}",outcome="ok"}`)).toBeGreaterThanOrEqual(1);
      expect(sample(metrics, `rekey_pipeline_up{pipeline="${name}"}`)).toBe(1);
      expect(await s.stop()).toBe(0);
    } finally {
      s.child.kill('SIGKILL');
    }
  }, 90_000);
});
