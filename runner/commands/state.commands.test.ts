import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rekeyCli as rekey, root } from '../cli.test-helpers.js';
import { P, seed } from './state.test-helpers.js';
import { PipelineCodes } from '../../pipelines/pipeline.errors.js';

describe('state commands (the built CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-state-cli-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const cli = (...args: string[]) => rekey([...args, '--state', url], dir);

  beforeAll(() => seed(url));

  it('status shows counts by state, conflicts and the last run', async () => {
    const [json, table] = await Promise.all([cli('status', '--json'), cli('status')]);
    expect(json.code).toBe(0);
    const [s] = JSON.parse(json.stdout).pipelines;
    expect(s).toMatchObject({ pipeline: P, total: 5, conflicts: 1, nextRunAt: null, counts: { received: 1, delivered: 1, dead: 2, failed: 1 } });
    expect(s.lastRun.summary).toMatchObject({ read: 6, dead: 2 });
    expect(table.stdout.split('\n')[0]).toMatch(/^PIPELINE\s+RECEIVED\s+MAPPED\s+.*CONFLICTS\s+LAST RUN$/);
    expect(table.stdout).toMatch(new RegExp(`^${P}\\s+1\\s+0\\s+0\\s+1\\s+1\\s+0\\s+2\\s+0\\s+1\\s+\\S+ read 6,`, 'm'));
  });

  it('status and run say the state store cannot be opened, and exit 1, rather than exiting 0 without a word', async () => {
    mkdirSync(join(dir, 'folder.sqlite'), { recursive: true });
    const bad = `sqlite:${join(dir, 'folder.sqlite')}`;
    const said = `rekey: STORE_UNAVAILABLE cannot open the state store ${bad}: SQLITE_CANTOPEN: unable to open database file\n  ${PipelineCodes.STORE_UNAVAILABLE.hint}\n`;
    const [status, run] = await Promise.all([rekey(['status', '--state', bad], dir), rekey(['run', join(root, 'examples/pipelines/change-of-address.yaml'), '--state', bad], dir)]);
    expect(status).toMatchObject({ code: 1, stderr: said });
    expect(run).toMatchObject({ code: 1, stderr: said });
  });

  it('dlq list and show read the dead letters without printing bodies', async () => {
    const [list, failed, show, showJson, missing] = await Promise.all([
      cli('dlq', 'list', P),
      cli('dlq', 'list', P, '--failed', '--json'),
      cli('dlq', 'show', P, 'B'),
      cli('dlq', 'show', P, 'B', '--json'),
      cli('dlq', 'show', P, 'ZZ'),
    ]);
    expect(list.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['KEY', 'STATE', 'ATTEMPTS'],
      ['B', 'dead', '1'],
      ['C', 'dead', '2'],
    ]);
    expect(list.stdout).toContain('TARGET_REFUSED: case system said no');
    expect(JSON.parse(failed.stdout).rows.map((r: { key: string }) => r.key)).toEqual(['B', 'C', 'D']);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^state\s+dead$/m);
    expect(show.stdout).toMatch(/^ {2}\S+Z {2}#\d+ {2}attempt 1: dead-lettered\n {4}by runner:test:1, run \S+\n {4}TARGET_REFUSED: case system said no$/m);
    expect(show.stdout).not.toContain('Surname-B');
    const parsed = JSON.parse(showJson.stdout);
    expect(parsed.row).not.toHaveProperty('body');
    expect(parsed.history.map((e: { event: string }) => e.event)).toEqual(['received', 'delivering', 'dead']);
    expect(missing.code).toBe(1);
  });

  it('dlq retry, discard and replay act as the operator, and refuse what is not allowed', async () => {
    const retried = await cli('dlq', 'retry', P, 'B', '--operator', 'alice');
    expect(retried).toMatchObject({ code: 0, stdout: `retried 1 submission(s) of ${P} as operator:alice\n` });
    const [illegal, neither, noReason, replayBad] = await Promise.all([
      cli('dlq', 'retry', P, 'A'),
      cli('dlq', 'retry', P),
      cli('dlq', 'discard', P, 'C'),
      cli('replay', P, 'E'),
    ]);
    expect(illegal.code).toBe(1);
    expect(illegal.stderr).toMatch(/LEDGER_ACTION_REFUSED .*"A" cannot move from delivered to received/);
    expect(neither.code).toBe(2);
    expect(noReason.code).toBe(2);
    expect(replayBad.code).toBe(1);
    expect((await cli('dlq', 'discard', P, 'C', '--reason', 'sent on paper', '--operator', 'bob')).code).toBe(0);
    expect((await cli('replay', P, 'A', '--operator', 'carol')).code).toBe(0);
    const history = JSON.parse((await cli('dlq', 'show', P, 'B', '--json')).stdout).history;
    expect(history.at(-1)).toMatchObject({ event: 'retried', actor: 'operator:alice' });
    const status = JSON.parse((await cli('status', P, '--json')).stdout).pipelines[0];
    expect(status.counts).toMatchObject({ received: 3, discarded: 1, dead: 0, delivered: 0 });
    expect((await cli('dlq', 'retry', P, '--all', '--json')).stdout).toContain('"retried": []');
  });
});
