import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { rekey } from '../cli.test-helpers.js';
import { P, seed } from './state.test-helpers.js';

describe('rekey audit (as processes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-audit-cli-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const cli = (...args: string[]) => rekey([...args, '--state', url], dir);

  beforeAll(() => seed(url));

  it('audit verify, keygen, checkpoint and export; verify fails on a tampered log', async () => {
    const keys = join(dir, 'keys');
    const gen = await rekey(['audit', 'keygen', keys]);
    expect(gen.code).toBe(0);
    expect(gen.stdout).toContain(`REKEY_AUDIT_VERIFY_KEY=${join(keys, 'audit-verify.pub.pem')}`);
    expect((await rekey(['audit', 'keygen', keys])).code).toBe(1);
    const worm = join(dir, 'checkpoints.jsonl');
    const cp = await cli('audit', 'checkpoint', '--key', join(keys, 'audit-signing.key.pem'), '--export', worm);
    expect(cp.code).toBe(0);
    expect(existsSync(worm)).toBe(true);
    expect((await cli('audit', 'checkpoint')).code).toBe(2);
    const pub = join(keys, 'audit-verify.pub.pem');
    const [ok, withCp, noKey, csv, json, badFormat] = await Promise.all([
      cli('audit', 'verify'),
      cli('audit', 'verify', '--checkpoints', worm, '--public-key', pub, '--json'),
      cli('audit', 'verify', '--checkpoints', worm),
      cli('audit', 'export', '--pipeline', P, '--from', '3', '--out', join(dir, 'audit.csv')),
      cli('audit', 'export', '--format', 'json', '--to', '3'),
      cli('audit', 'export', '--format', 'xml'),
    ]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/^audit log OK: \d+ entries/);
    expect(JSON.parse(withCp.stdout)).toMatchObject({ ok: true, checkpoints: 1 });
    expect(noKey.code).toBe(2);
    expect(csv.code).toBe(0);
    const rows = parseCsv(readFileSync(join(dir, 'audit.csv')), { columns: true }) as { seq: string; event: string }[];
    expect(rows[0]).toMatchObject({ seq: '3', event: 'received' });
    expect(JSON.parse(json.stdout).map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3]);
    expect(badFormat.code).toBe(2);

    const store = await openStateStore(url);
    await store.exec("UPDATE audit_log SET actor = 'operator:mallory' WHERE seq = 3");
    await store.close();
    const broken = await cli('audit', 'verify');
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^audit log BROKEN at seq 3: edited/);
  });
});
