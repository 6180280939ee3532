/**
 * SFTP delivery against a real OpenSSH server on loopback: sshd (Debian's
 * openssh-server) started by the test with its own host key, config and
 * authorized key, on a free port. Skipped, visibly, when /usr/sbin/sshd is
 * not installed. Once a file is on the server, the local staging copy keeps
 * its name but no data.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorState } from '../../pipelines/store/connector-state.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import type { Ctx, MappedRecord } from '../connector.types.js';
import { FileDropTarget } from './file-drop.target.js';
import type { SftpConfig } from './sftp.upload.js';
import { entryName, loadEntries } from './journal.js';

const SSHD = '/usr/sbin/sshd';
const haveSshd = existsSync(SSHD);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!haveSshd)('file-drop over SFTP to a real OpenSSH server on loopback (skipped when /usr/sbin/sshd is not installed)', () => {
  let dir: string;
  let sshd: ChildProcess;
  let sftp: SftpConfig;
  let store: StateStore;
  let ctx: Ctx;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rekey-sftp-'));
    mkdirSync('/run/sshd', { recursive: true });
    mkdirSync(join(dir, 'remote'));
    for (const k of ['host', 'client']) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, k)]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client.pub')));
    const port = await freePort();
    writeFileSync(
      join(dir, 'sshd_config'),
      [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, `PidFile ${join(dir, 'sshd.pid')}`, 'PasswordAuthentication no', 'PermitRootLogin prohibit-password', 'StrictModes no', 'UsePAM no', 'Subsystem sftp internal-sftp', ''].join('\n'),
    );
    const fp = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host.pub')]).stdout.toString().split(' ')[1]!;
    sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      sshd.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('Server listening')) resolve();
      });
      sshd.on('exit', (code) => reject(new Error(`sshd exited ${code}: ${err}`)));
    });
    sftp = { host: '127.0.0.1', port, username: userInfo().username, privateKey: readFileSync(join(dir, 'client'), 'utf8'), hostKey: fp, folder: join(dir, 'remote') };
    store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
    ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1, state: connectorState(store, 'sftp') };
  });
  afterAll(async () => {
    sshd?.kill('SIGTERM');
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rec = (n: number, uncertain = false): MappedRecord => ({ key: `k${n}`, record: { A: `a${n}`, B: n }, children: {}, mappingVersion: 'v', uncertain });
  const target = (over: Partial<SftpConfig> = {}) =>
    new FileDropTarget({ folder: 'staging', name: 'OUT_{seq:3}.csv', trigger: '.done', manifest: true, sftp: { ...sftp, ...over }, format: { kind: 'csv', columns: ['A', 'B'] } }, { baseDir: dir, pipeline: 'sftp' });

  it('uploads the data file, its manifest and its trigger, each renamed into place, and answers delivered only then', async () => {
    const t = target();
    await t.connect(ctx);
    expect(await t.deliver([rec(1), rec(2)], ctx)).toEqual([{ key: 'k1', status: 'held' }, { key: 'k2', status: 'held' }]);
    expect(readdirSync(join(dir, 'remote'))).toEqual([]);
    expect(await t.flush(ctx)).toEqual([{ key: 'k1', status: 'delivered', legacyRef: 'OUT_001.csv#1' }, { key: 'k2', status: 'delivered', legacyRef: 'OUT_001.csv#2' }]);
    expect(readdirSync(join(dir, 'remote')).sort()).toEqual(['OUT_001.csv', 'OUT_001.csv.done', 'OUT_001.csv.manifest.json']);
    expect(readFileSync(join(dir, 'remote', 'OUT_001.csv'), 'utf8')).toBe('A,B\r\na1,1\r\na2,2\r\n');
    expect(readdirSync(join(dir, 'staging')).sort()).toEqual(['OUT_001.csv', 'OUT_001.csv.done']);
    expect(statSync(join(dir, 'staging', 'OUT_001.csv')).size).toBe(0);
  });

  it('refuses a server whose host key is not the configured one, and keeps the records for a retry', async () => {
    const t = target({ hostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    await t.connect(ctx);
    await t.deliver([rec(3)], ctx);
    await expect(t.flush(ctx)).rejects.toMatchObject({ code: 'FILE_DROP_IO', disposition: 'retry', message: expect.stringMatching(/presented host key SHA256:.*not the configured/) });
    expect(readdirSync(join(dir, 'remote')).filter((n) => n.startsWith('OUT_002'))).toEqual([]);
    const retry = target();
    await retry.connect(ctx);
    expect(readdirSync(join(dir, 'remote')).filter((n) => n.startsWith('OUT_002')).sort()).toEqual(['OUT_002.csv', 'OUT_002.csv.done', 'OUT_002.csv.manifest.json']);
    expect(await retry.deliver([rec(3, true)], ctx)).toEqual([{ key: 'k3', status: 'delivered', legacyRef: 'OUT_002.csv#1', alreadyPresent: true }]);
    expect(statSync(join(dir, 'staging', 'OUT_002.csv')).size).toBe(0);
    expect(readFileSync(join(dir, 'remote', 'OUT_002.csv'), 'utf8')).toBe('A,B\r\na3,3\r\n');
  });

  it('empties the local staging copies an earlier version left in clear, and never reuses their names', async () => {
    const entry = (await loadEntries(ctx.state!)).find((e) => e.name === 'OUT_001.csv')!;
    writeFileSync(join(dir, 'staging', 'OUT_001.csv'), 'A,B\r\na1,1\r\na2,2\r\n');
    writeFileSync(join(dir, 'staging', 'OUT_001.csv.manifest.json'), '{"totals":{"B":"3"}}');
    const { stagingEmptied: _emptied, ...earlier } = entry;
    await ctx.state!.set(entryName(entry.seq), JSON.stringify(earlier));
    const t = target();
    await t.connect(ctx);
    expect(statSync(join(dir, 'staging', 'OUT_001.csv')).size).toBe(0);
    expect(existsSync(join(dir, 'staging', 'OUT_001.csv.manifest.json'))).toBe(false);
    expect((await loadEntries(ctx.state!)).find((e) => e.name === 'OUT_001.csv')).toMatchObject({ state: 'published', stagingEmptied: true });
    expect(readFileSync(join(dir, 'remote', 'OUT_001.csv'), 'utf8')).toBe('A,B\r\na1,1\r\na2,2\r\n');
    await t.close();
  });
});
