import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_DATA_KEY } from '../../lib/envelope.test-helpers.js';
import { readCheckpointFile } from '../../pipelines/audit/checkpoints.js';
import { rekey, root } from '../cli.test-helpers.js';
import { seed } from '../commands/state.test-helpers.js';
import { CHECKPOINTS_OFF } from './audit-checkpoints.js';
import { post, SECRET, submissionWithRef, writeWebhookPipeline } from './intake.test-helpers.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const s of servers.splice(0)) s.close();
});

interface Served {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Starts `rekey serve` on `dir/pipelines` with `env`, and resolves once it listens. */
async function startServe(dir: string, env: Record<string, string>): Promise<Served> {
  const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', join(dir, 'pipelines'), '--port', '0', '--state', `sqlite:${join(dir, 'state.sqlite')}`], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', REKEY_LOG_LEVEL: 'info', REKEY_DATA_KEY: TEST_DATA_KEY, REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff', HOOK_SECRET: SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"serving"/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${stderr}`)));
  });
  return { child, url, exited, stderr: () => stderr };
}

/** Log lines (pino JSON) whose msg is `msg`. */
function logLines(stderr: string, msg: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === msg);
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(check()).toBe(true);
}

async function newDir(): Promise<{ dir: string; keys: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-serve-cp-'));
  dirs.push(dir);
  writeWebhookPipeline(join(dir, 'pipelines'), 'hook');
  await seed(`sqlite:${join(dir, 'state.sqlite')}`);
  expect((await rekey(['audit', 'keygen', join(dir, 'keys')])).code).toBe(0);
  return { dir, keys: { REKEY_AUDIT_SIGNING_KEY: join(dir, 'keys/audit-signing.key.pem'), REKEY_AUDIT_VERIFY_KEY: join(dir, 'keys/audit-verify.pub.pem') } };
}

/** A write-once HTTP store: PUT creates, PUT with `If-None-Match: *` on an existing object is refused with 412; GET reads. */
async function wormServer(): Promise<{ url: string; objects: Map<string, string>; requests: { method: string; path: string; ifNoneMatch?: string; status: number }[] }> {
  const objects = new Map<string, string>();
  const requests: { method: string; path: string; ifNoneMatch?: string; status: number }[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const answer = (status: number, body = '') => {
      requests.push({ method: req.method ?? '', path, ifNoneMatch: req.headers['if-none-match'], status });
      res.writeHead(status).end(body);
    };
    if (req.method === 'GET') return objects.has(path) ? answer(200, objects.get(path)) : answer(404);
    if (req.method !== 'PUT') return answer(405);
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (objects.has(path)) return answer(req.headers['if-none-match'] === '*' ? 412 : 403);
      objects.set(path, body);
      answer(201);
    });
  });
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/worm`, objects, requests };
}

describe('rekey serve writes signed audit checkpoints (as processes)', () => {
  it('to a folder at start and at shutdown, one read-only file per checkpoint that verify holds the chain to', async () => {
    const { dir, keys } = await newDir();
    const worm = join(dir, 'worm');
    mkdirSync(worm);
    const served = await startServe(dir, { ...keys, REKEY_AUDIT_CHECKPOINTS: worm });
    await until(() => logLines(served.stderr(), 'audit checkpoint written').length === 1);
    expect((await post(`${served.url}/intake/hook`, submissionWithRef('CA3HJ7WR'))).status).toBe(202);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    const written = logLines(served.stderr(), 'audit checkpoint written');
    expect(written.length).toBe(2);
    const files = readdirSync(worm).sort();
    expect(written.map((l) => [l.seq, l.where])).toEqual(files.map((f) => [Number(/\d+/.exec(f)![0]), join(worm, f)]));
    expect(written[1]!.seq as number).toBeGreaterThan(written[0]!.seq as number);
    for (const f of files) expect(statSync(join(worm, f)).mode & 0o777).toBe(0o444);
    expect(written.map((l) => Object.keys(l).filter((k) => !['level', 'time', 'pid', 'hostname', 'msg', 'name'].includes(k)).sort())).toEqual([['seq', 'where'], ['seq', 'where']]);
    for (const f of files) expect(readFileSync(join(worm, f), 'utf8')).not.toContain('CA3HJ7WR');
    expect((await readCheckpointFile(worm)).map((c) => c.seq)).toEqual(written.map((l) => l.seq));
    expect(served.stderr()).not.toContain(CHECKPOINTS_OFF);
    const verified = await rekey(['audit', 'verify', '--state', `sqlite:${join(dir, 'state.sqlite')}`], dir, { ...keys, REKEY_AUDIT_CHECKPOINTS: worm });
    const head = written[1]!.seq as number;
    expect(verified).toMatchObject({
      code: 0,
      stdout: `audit log OK: ${head} entries, 2 checkpoint(s) matched\nproved: the hash chain, seqs 1..${head}, and that seqs 1..${head} are the chain signed by the checkpoint at seq ${head} (from the external copy)\n`,
    });
  }, 90_000);

  it('to an http URL with PUT and If-None-Match: *, and never overwrites what the store holds', async () => {
    const { dir, keys } = await newDir();
    const store = await wormServer();
    const first = await startServe(dir, { ...keys, REKEY_AUDIT_CHECKPOINTS: store.url });
    await until(() => logLines(first.stderr(), 'audit checkpoint written').length === 1);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const [put] = store.requests;
    const [name] = [...store.objects.keys()];
    expect(put).toEqual({ method: 'PUT', path: name, ifNoneMatch: '*', status: 201 });
    expect(logLines(first.stderr(), 'audit checkpoint written')[0]).toMatchObject({ where: `${store.url}${name!.slice('/worm'.length)}` });
    const kept = store.objects.get(name!);

    const second = await startServe(dir, { ...keys, REKEY_AUDIT_CHECKPOINTS: store.url });
    await until(() => logLines(second.stderr(), 'audit checkpoint already written for this seq').length === 1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(store.requests.map((r) => [r.method, r.status])).toEqual([['PUT', 201], ['PUT', 412], ['GET', 200]]);
    expect(store.objects.get(name!)).toBe(kept);
  }, 90_000);

  it('warns once at start when checkpoints are not configured, and refuses to start with a place it cannot use', async () => {
    const { dir, keys } = await newDir();
    const served = await startServe(dir, { REKEY_AUDIT_CHECKPOINTS: '', REKEY_AUDIT_SIGNING_KEY: '' });
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    const warned = logLines(served.stderr(), CHECKPOINTS_OFF);
    expect(warned).toEqual([expect.objectContaining({ level: 40, missing: ['REKEY_AUDIT_CHECKPOINTS', 'REKEY_AUDIT_SIGNING_KEY'] })]);

    const missing = join(dir, 'no-such-folder');
    const refused = await rekey(['serve', join(dir, 'pipelines'), '--port', '0', '--state', `sqlite:${join(dir, 'state.sqlite')}`], dir, {
      ...keys,
      HOOK_SECRET: SECRET,
      REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff',
      REKEY_AUDIT_CHECKPOINTS: missing,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('AUDIT_CHECKPOINTS_UNAVAILABLE');
    expect(refused.stderr).toContain(`REKEY_AUDIT_CHECKPOINTS ${missing} is not a folder that exists`);
  }, 90_000);
});
