/**
 * The in-process runner the CLI tests use (`rekeyInProcess`) against the
 * real process (`rekey`): the same command lines give the same exit code,
 * standard output and standard error, so a test that runs a command in
 * process checks what a user of the process would see. The lines cover a
 * version, a misspelt command (usage, exit 2), a valid and an invalid
 * mapping (output on each stream), a state store with nothing in it (a
 * store opened and closed) and an unreachable one (an error that escapes,
 * as main.js reports it).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rekey, rekeyInProcess } from './cli.test-helpers.js';

describe('rekeyInProcess gives what the rekey process gives', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-in-process-'));
  writeFileSync(join(dir, 'good.yaml'), 'mapping: people\nfields:\n  REF: { from: submission_reference, required: true }\n');
  writeFileSync(join(dir, 'bad.yaml'), 'mapping: people\nfields:\n  REF: { from: submission_reference, colums: 3 }\n');
  const state = `sqlite:${join(dir, 'state.sqlite')}`;
  const lines: string[][] = [
    ['--version'],
    ['vaildate', 'good.yaml'],
    ['validate', 'good.yaml'],
    ['validate', 'bad.yaml'],
    ['status', '--state', state],
    ['status', '--state', 'postgres://nobody@127.0.0.1:1/none'],
  ];

  it.each(lines.map((l) => [l.join(' '), l]))('rekey %s', async (_name, args) => {
    const process = await rekey(args as string[], dir);
    const inProcess = await rekeyInProcess(args as string[], dir);
    expect(inProcess).toEqual(process);
    expect(process.stdout + process.stderr, 'the command said something').not.toBe('');
  }, 60_000);
});
