/**
 * A `file` source under `rekey serve`, killed (SIGKILL) part-way through
 * reading its file: the file was never marked as read, so the next serve
 * reads it again and every submission is delivered exactly once; the serve
 * after that finds the file unchanged and reads nothing. Needs `npm run
 * build`.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../conformance/bench-bodies.js';
import { benchLegacyTableSql, keyOf, ledgerRows, querySqlite, WorkDir } from '../conformance/conformance.run.js';
import { root, TEST_PII_KEY_HEX } from '../../runner/cli.test-helpers.js';
import { TEST_DATA_KEY } from '../../lib/envelope.test-helpers.js';

const N = 200;
const all = benchSubmissions(N, 0);
const work = new WorkDir('rekey-file-reads-crash-');
afterAll(() => rmSync(work.dir, { recursive: true, force: true }));

interface ServeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  /** Killed by the test, having neither matched nor exited in time. */
  stuck: boolean;
}

/**
 * `rekey serve --run-at-start` on the work folder; stopped with SIGTERM once its output matches `until`, unless it dies first.
 * One that does neither within 35 s is killed, so the test fails with its output rather than only a timeout.
 */
function serve(env: Record<string, string>, until: RegExp): Promise<ServeExit> {
  return new Promise((resolve) => {
    const args = [join(root, 'dist/runner/main.js'), 'serve', work.dir, '--run-at-start', '--port', '0', '--state', `sqlite:${work.state}`];
    const child = spawn(process.execPath, args, {
      cwd: work.dir,
      env: { REKEY_DATA_KEY: TEST_DATA_KEY, ...process.env, REKEY_LOG_LEVEL: 'info', REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let asked = false;
    const take = (d: Buffer) => {
      out += d.toString();
      if (!asked && until.test(out)) {
        asked = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let stuck = false;
    const timer = setTimeout(() => {
      stuck = true;
      child.kill('SIGKILL');
    }, 35_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, stuck });
    });
  });
}

describe('file source under rekey serve: killed mid-read, then served again', () => {
  it(
    'reads the whole file again after the kill, delivers each submission once, then skips the unchanged file',
    async () => {
      writeFileSync(join(work.dir, 'legacy.sql'), benchLegacyTableSql());
      work.write(
        { name: 'file-reads', mapping: BENCH_MAPPING, target: { kind: 'sqlite', config: { path: './legacy.sqlite', table: 'LEGACY', keyColumn: 'SUBMISSION_KEY', setupSql: './legacy.sql' } }, batch: 20, extra: { workers: 0 } },
        all,
      );
      const file = join(work.dir, 'pipeline.yaml');
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('path: ./submissions.ndjson\n');
      writeFileSync(file, text.replace('path: ./submissions.ndjson\n', 'path: ./submissions.ndjson\n    chunkBytes: 4096\n'));

      const killed = await serve({ REKEY_CRASH_AT: 'after-receive:2' }, /pass finished/);
      expect({ signal: killed.signal, stuck: killed.stuck }, killed.out.slice(-3000)).toEqual({ signal: 'SIGKILL', stuck: false });
      const partial = await ledgerRows(work.state, 'file-reads');
      expect(partial.length).toBeGreaterThan(0);
      expect(partial.length).toBeLessThan(N);

      const again = await serve({}, /pass finished/);
      expect(again.code, again.out.slice(-3000)).toBe(0);
      expect(again.out).not.toContain('unchanged since its last full read');
      const keys = all.map(keyOf).sort();
      const rows = await querySqlite<{ SUBMISSION_KEY: string; n: number }>(join(work.dir, 'legacy.sqlite'), 'SELECT SUBMISSION_KEY, COUNT(*) AS n FROM LEGACY GROUP BY SUBMISSION_KEY');
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      expect(rows.map((r) => r.SUBMISSION_KEY).sort()).toEqual(keys);
      expect((await ledgerRows(work.state, 'file-reads')).filter((r) => r.state !== 'delivered')).toEqual([]);

      const third = await serve({}, /pass finished/);
      expect(third.code, third.out.slice(-3000)).toBe(0);
      expect(third.out.match(/unchanged since its last full read/g)).toHaveLength(1);
      expect(third.out).toMatch(/"read":0,/);
    },
    120_000,
  );
});
