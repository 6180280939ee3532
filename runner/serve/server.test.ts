import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { pausePipeline, pipelineControls, resumePipeline } from '../../pipelines/ledger/controls.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openTestStore } from '../../pipelines/store/store.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { createLogger } from '../logging.js';
import { Scheduler } from './scheduler.js';
import { parseTrustProxy, startServer } from './server.js';
import { registerConsole, SIGN_IN_PER_MINUTE } from '../console/console.js';
import { csrfIn, mergeCookies, TEST_USERS, writeTestUsers } from '../console/console.test-helpers.js';
import { loadUsers } from '../console/users.js';

interface StatusBody {
  pipelines: { name: string; cron: string | null; nextRun: string | null; paused: { by: string; reason: string | null; since: string } | null }[];
}

describe('/status of rekey serve', () => {
  it('shows which pipelines are paused, by whom, why and since when, as the state store holds it', async () => {
    const ts = await openTestStore('sqlite');
    const log = createLogger({ level: 'warn', pretty: false, destination: new Writable({ write: (_c, _e, done) => done() }) });
    const audit = new AuditLog(ts.store);
    const ledger = new Ledger(ts.store, audit, TEST_KEYS);
    const scheduler = new Scheduler(log);
    const idle = async () => undefined;
    scheduler.add('licences', '0 2 * * *', 'Europe/London', idle);
    scheduler.add('addresses', '*/5 * * * *', 'Europe/London', idle);
    // A pipeline paused in the shared store that this serve does not run is not listed.
    await pausePipeline(ts.store, audit, 'elsewhere', 'operator:carol', 'not ours');
    const server = await startServer({ host: '127.0.0.1', port: 0, scheduler, ledger, controls: () => pipelineControls(ts.store), log });
    const status = async () => (await (await fetch(`${server.url}/status`)).json()) as StatusBody;
    try {
      const before = await status();
      expect(before.pipelines.map((p) => [p.name, p.paused])).toEqual([
        ['licences', null],
        ['addresses', null],
      ]);
      expect(before.pipelines[0]!.nextRun).toEqual(expect.any(String));

      const control = await pausePipeline(ts.store, audit, 'licences', 'console:olly.operator', 'legacy system upgrade tonight');
      const paused = await status();
      expect(paused.pipelines[0]).toMatchObject({
        name: 'licences',
        cron: '0 2 * * *',
        nextRun: null,
        paused: { by: 'console:olly.operator', reason: 'legacy system upgrade tonight', since: control.since.toISOString() },
      });
      expect(paused.pipelines[1]).toMatchObject({ name: 'addresses', paused: null, nextRun: expect.any(String) });
      expect(paused.pipelines.map((p) => p.name)).not.toContain('elsewhere');

      await resumePipeline(ts.store, audit, 'licences', 'operator:alice');
      const resumed = await status();
      expect(resumed.pipelines[0]).toMatchObject({ name: 'licences', paused: null, nextRun: expect.any(String) });
    } finally {
      await server.close();
      await scheduler.stop();
      await ts.dispose();
    }
  });
});

/** A serve (server and console) over a fresh store, trusting `trustProxy`; `signIn(forwardedFor)` makes one wrong sign-in and resolves to its status. */
async function consoleBehind(trustProxy: string[] | undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-trust-proxy-'));
  const ts = await openTestStore('sqlite');
  let logged = '';
  const log = createLogger({ level: 'info', pretty: false, destination: new Writable({ write: (c: Buffer, _e, done) => ((logged += c.toString()), done()) }) });
  const audit = new AuditLog(ts.store);
  const ledger = new Ledger(ts.store, audit, TEST_KEYS);
  const runtime = { store: ts.store, audit, ledger, close: async () => undefined };
  const users = await loadUsers(await writeTestUsers(dir));
  const scheduler = new Scheduler(log);
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    scheduler,
    ledger,
    controls: () => pipelineControls(ts.store),
    log,
    trustProxy,
    routes: [(app) => registerConsole(app, { runtime, pipelines: [], scheduler, log, piiKey: Buffer.alloc(32, 7), users, pages: [] })],
  });
  const url = server.url.replace('127.0.0.1', 'localhost');
  const form = await fetch(`${url}/sign-in`);
  const token = csrfIn(await form.text());
  const cookie = mergeCookies('', form);
  return {
    logged: () => logged,
    signIn: async (forwardedFor: string) =>
      (
        await fetch(`${url}/sign-in`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
          body: new URLSearchParams({ _csrf: token, username: TEST_USERS.viewer.name, password: 'wrong' }),
        })
      ).status,
    async close() {
      await server.close();
      await scheduler.stop();
      await ts.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('rekey serve behind a reverse proxy (--trust-proxy)', () => {
  it('gives each client behind a trusted proxy its own sign-in bucket, by X-Forwarded-For', async () => {
    const s = await consoleBehind(parseTrustProxy('loopback'));
    try {
      const first: number[] = [];
      for (let i = 0; i <= SIGN_IN_PER_MINUTE; i++) first.push(await s.signIn('203.0.113.7'));
      expect(first).toEqual([...Array(SIGN_IN_PER_MINUTE).fill(401), 429]);
      // Another client behind the same proxy still has its 10; a hop the client forged in front of its own address is not believed.
      expect(await s.signIn('203.0.113.8')).toBe(401);
      expect(await s.signIn('198.51.100.1, 203.0.113.7')).toBe(429);
      expect(s.logged()).toContain('"ip":"203.0.113.8"');
    } finally {
      await s.close();
    }
  });

  it('ignores X-Forwarded-For when no proxy is trusted: one bucket for the socket address, whatever the header says', async () => {
    const s = await consoleBehind(parseTrustProxy(undefined));
    try {
      const statuses: number[] = [];
      for (let i = 0; i < SIGN_IN_PER_MINUTE; i++) statuses.push(await s.signIn(`203.0.113.${i + 1}`));
      expect(statuses).toEqual(Array(SIGN_IN_PER_MINUTE).fill(401));
      expect(await s.signIn('198.51.100.99')).toBe(429);
      expect(s.logged()).not.toContain('203.0.113.');
    } finally {
      await s.close();
    }
  });

  it('ignores X-Forwarded-For from a peer that is not one of the trusted proxies', async () => {
    const s = await consoleBehind(parseTrustProxy('10.0.0.5, 192.168.0.0/16'));
    try {
      for (let i = 0; i < SIGN_IN_PER_MINUTE; i++) expect(await s.signIn(`203.0.113.${i + 1}`)).toBe(401);
      expect(await s.signIn('198.51.100.99')).toBe(429);
    } finally {
      await s.close();
    }
  });

  it('reads --trust-proxy as a list of addresses and CIDR ranges, and names a wrong entry', () => {
    expect(parseTrustProxy(undefined)).toBeUndefined();
    expect(parseTrustProxy('  ')).toBeUndefined();
    expect(parseTrustProxy('127.0.0.1, 10.0.0.0/8,::1,fd00::/8,loopback')).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'loopback']);
    expect(() => parseTrustProxy('2')).toThrow('"2" is a hop count; give the proxies\' addresses or CIDR ranges instead (such as 127.0.0.1 or 10.0.0.0/8)');
    expect(() => parseTrustProxy('127.0.0.1,proxy.example')).toThrow('"proxy.example" is not an IP address or CIDR range (such as 127.0.0.1, 10.0.0.0/8 or ::1)');
    expect(() => parseTrustProxy('10.0.0.0/33')).toThrow('"10.0.0.0/33" is not an IP address or CIDR range');
    expect(() => parseTrustProxy('10.0.0.0/8/1')).toThrow('"10.0.0.0/8/1" is not an IP address or CIDR range');
  });
});
