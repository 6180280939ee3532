/**
 * `rekey console hash-password|token|check-users`: what a deployer needs to
 * write the console's users file (docs/console.md) without other tools.
 * Passwords are read from standard input, never from the command line
 * (where `ps` and shell history would keep them).
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { InvalidArgumentError, type Command } from 'commander';
import { stringify } from 'yaml';
import type { CommandResult } from '../cli.js';
import { hashPassword } from '../console/passwords.js';
import { loadUsers, ROLES, tokenHash, type Role } from '../console/users.js';

/** Reads one line from stdin; on a terminal, without echoing it. */
async function readSecret(prompt: string): Promise<string> {
  const tty = process.stdin.isTTY === true;
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: tty });
  try {
    const answer = new Promise<string>((resolve, reject) => {
      rl.once('line', resolve);
      rl.once('close', () => reject(new Error('no password on standard input')));
    });
    if (tty) {
      rl.setPrompt(prompt);
      rl.prompt();
      muted = true;
    }
    return await answer;
  } finally {
    if (tty) process.stderr.write('\n');
    rl.close();
  }
}

function role(v: string): Role {
  if (!ROLES.includes(v as Role)) throw new InvalidArgumentError(`the role must be one of ${ROLES.join(', ')}`);
  return v as Role;
}

/** Registers `console` and its subcommands. */
export function consoleCommand(program: Command, result: CommandResult): void {
  const cmd = program.command('console').description('set up the console of rekey serve: password hashes, API tokens, checking the users file (see docs/console.md)');
  cmd
    .command('hash-password')
    .description('read a password from standard input and print its scrypt hash for the users file')
    .action(async () => {
      const password = await readSecret('Password: ');
      if (password.length < 12) {
        process.stderr.write('rekey: a console password needs at least 12 characters\n');
        result.code = 2;
        return;
      }
      process.stdout.write(`${await hashPassword(password)}\n`);
    });
  cmd
    .command('token')
    .description('make an API token for automation: prints the token (give it to the client) and the entry for the users file (which keeps only its hash)')
    .argument('<name>', 'who or what uses the token')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, role, 'viewer')
    .action((name: string, opts: { role: Role }) => {
      const token = `rk_${randomBytes(32).toString('base64url')}`;
      const entry = stringify({ tokens: [{ name, role: opts.role, hash: `sha256:${tokenHash(token)}` }] });
      process.stdout.write(`token (shown once; send it as "Authorization: Bearer <token>"):\n  ${token}\n\nadd to the users file:\n${entry}`);
    });
  cmd
    .command('check-users')
    .description('check a users file as rekey serve would, and list who may do what')
    .argument('<file>')
    .action(async (file: string) => {
      const users = await loadUsers(file);
      const lines = [
        ...[...users.users.values()].map((u) => `user  ${u.name}: ${u.role}${u.evidence ? ', evidence' : ''}${u.password ? '' : ' (proxy sign-in only)'}`),
        ...[...users.tokens.values()].map((t) => `token ${t.name}: ${t.role}${t.evidence ? ', evidence' : ''}`),
        ...(users.proxy ? [`proxy header ${users.proxy.header} from ${users.proxy.trusted.join(', ')}`] : []),
      ];
      process.stdout.write(`${file}: ok\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
    });
}
