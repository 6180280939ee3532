/**
 * `rekey serve` as a process with a pipeline whose `alerts` webhook URL
 * comes from the environment: a pass that fails reaches a local receiver
 * as one `pass-failed` message, and the URL appears nowhere in what serve
 * printed. Needs `npm run build`.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { WorkDir } from '../../connectors/conformance/conformance.run.js';
import { root, TEST_PII_KEY_HEX } from '../cli.test-helpers.js';
import { TEST_DATA_KEY } from '../../lib/envelope.test-helpers.js';
import type { AlertMessage } from './alerts.js';

const work = new WorkDir('rekey-alerts-cli-');
afterAll(() => rmSync(work.dir, { recursive: true, force: true }));

describe('rekey serve with alerts (as a process)', () => {
  it('posts pass-failed to the webhook named by an environment variable, and never prints its URL', async () => {
    const got: { path: string; body: AlertMessage }[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        got.push({ path: req.url ?? '', body: JSON.parse(text) as AlertMessage });
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0SECRET/B0SECRET/xoxSECRETtoken`;
    const bodies = benchSubmissions(3, 0);
    work.write(
      {
        name: 'alerting',
        mapping: BENCH_MAPPING,
        target: { kind: 'sqlite', config: { path: './no-such-folder/legacy.sqlite', table: 'LEGACY', keyColumn: 'SUBMISSION_KEY' } },
        batch: 10,
        extra: { workers: 0, alerts: { webhooks: [{ url: { env: 'ALERT_HOOK_URL' } }] } },
      },
      bodies,
    );
    const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', work.dir, '--run-at-start', '--port', '0', '--state', `sqlite:${work.state}`], {
      cwd: work.dir,
      env: { REKEY_DATA_KEY: TEST_DATA_KEY, ...process.env, REKEY_LOG_LEVEL: 'info', REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, ALERT_HOOK_URL: hook, REKEY_CONSOLE_URL: 'https://rekey.example' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let asked = false;
    const take = (d: Buffer) => {
      out += d.toString();
      if (!asked && out.includes('"msg":"pass failed"')) {
        asked = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    await new Promise((r) => server.close(r));
    expect(asked).toBe(true);
    expect(code).toBe(0);
    expect(got).toHaveLength(1);
    expect(got[0]!.path).toBe('/services/T0SECRET/B0SECRET/xoxSECRETtoken');
    expect(got[0]!.body).toMatchObject({ event: 'pass-failed', pipeline: 'alerting', trigger: 'start', errorCode: expect.stringMatching(/^[A-Z_]+$/), runId: expect.any(String) });
    expect(got[0]!.body.link).toBe(`https://rekey.example/passes/${got[0]!.body.runId!}`);
    expect(out).toContain('"msg":"alert sent"');
    expect(out).not.toContain('SECRET');
  }, 60_000);
});
