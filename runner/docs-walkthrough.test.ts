import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_DATA_KEY } from '../lib/envelope.test-helpers.js';
import { root, TEST_PII_KEY_HEX, type Run } from './cli.test-helpers.js';
import { outputMatches, splitWords, walkSteps, type WalkStep } from './docs-walkthrough.test-helpers.js';
import { copyQuickStart } from './quick-start.test-helpers.js';

/** The documents whose walk-throughs are run, each on a fresh copy of the quick start. */
const DOCS = ['docs/audit.md', 'docs/operations.md'];

/** This process's environment without any REKEY_ setting (a state URL, a checkpoint folder) that would change what the commands do. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('REKEY_')) env[k] = v;
  return { ...env, NO_COLOR: '1', REKEY_DATA_KEY: TEST_DATA_KEY, REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn', REKEY_SKIP_SYSTEM_INSTALL: '1' };
}

/** Runs one walk-through command (`rekey ...`) as the built CLI in `cwd`; its output is stdout then stderr. */
function runStep(step: WalkStep, cwd: string): Promise<Run> {
  const [program, ...args] = step.argv;
  if (program !== 'rekey') throw new Error(`line ${step.line}: a walk-through runs only rekey commands, not ${JSON.stringify(program)}`);
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'dist/runner/main.js'), ...args], { cwd, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('walk-through matching', () => {
  it('splits words at spaces outside quotes', () => {
    expect(splitWords(`rekey audit check p CA3 SURNAME "O'CONNOR" 'A B'`)).toEqual(['rekey', 'audit', 'check', 'p', 'CA3', 'SURNAME', "O'CONNOR", 'A B']);
    expect(() => splitWords('rekey "open')).toThrow('unclosed " in: rekey "open');
  });

  it('reads commands and their outputs from console blocks only', () => {
    const md = ['```sh', '$ rekey no', '```', 'text', '```console', '$ rekey status', 'A  B', '', '$ rekey audit verify', 'ok', '```'].join('\n');
    expect(walkSteps(md)).toEqual([
      { command: 'rekey status', argv: ['rekey', 'status'], expected: 'A  B\n\n', line: 6 },
      { command: 'rekey audit verify', argv: ['rekey', 'audit', 'verify'], expected: 'ok\n', line: 9 },
    ]);
  });

  it('matches placeholders within their line and ... across lines, and nothing else', () => {
    expect(outputMatches('run <run id>\n  read  11\n', 'run 1a16-x\n  read  11\n')).toBe(true);
    expect(outputMatches('run <run id>\n  read  11\n', 'run 1a16-x\n  read  12\n')).toBe(false);
    expect(outputMatches('at <time> ok\n', 'at 2026\nmore ok\n')).toBe(false);
    expect(outputMatches('a\n...\nz\n', 'a\nb\nc\nz\n')).toBe(true);
    expect(outputMatches('a\n...\nz\n', 'a\nz\n')).toBe(true);
    expect(outputMatches('a\nz\n', 'a\nb\nz\n')).toBe(false);
    expect(outputMatches('x (y)\n', 'x (y)\n')).toBe(true);
  });
});

for (const doc of DOCS) {
  describe(`${doc}: every command of its walk-through, run in order on a copy of the quick start`, () => {
    const steps = walkSteps(readFileSync(join(root, doc), 'utf8'));
    const dir = copyQuickStart('rekey-docs-');
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('has a walk-through', () => {
      expect(steps.length).toBeGreaterThan(2);
    });

    for (const step of steps) {
      it(`line ${step.line}: $ ${step.command}`, async () => {
        const r = await runStep(step, dir);
        const output = r.stdout + r.stderr;
        if (!outputMatches(step.expected, output)) expect(output).toBe(step.expected);
      });
    }
  });
}
