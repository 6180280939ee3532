import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_DATA_KEY } from '../lib/envelope.test-helpers.js';
import { root } from './cli.test-helpers.js';
import { copyQuickStart } from './quick-start.test-helpers.js';

describe('rekey serve logs each pass (as a process)', () => {
  const dir = copyQuickStart('rekey-serve-log-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('logs one line per pass with its counts and run id, never a submission key', async () => {
    const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', 'examples/pipelines', '--run-at-start', '--port', '0'], {
      cwd: dir,
      env: { REKEY_DATA_KEY: TEST_DATA_KEY, ...process.env, REKEY_LOG_LEVEL: 'info', REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const finished = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('"msg":"pass finished"')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await Promise.race([finished, exited]);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = stderr.split('\n').filter((l) => l.includes('"msg":"pass finished"'));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, pipeline: 'change-of-address', read: 11, receivedNew: 11, rejected: 5, delivered: 6, dead: 0, failed: 0, waitingRetry: 0 });
    expect(line.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines[0]).not.toMatch(/driving licence|CA3HJ7WR|EX6LB5NH/);
  }, 60_000);
});
