/**
 * `rekey keys new|status|rotate`: the key-encryption keys that wrap the data
 * key of every body and file rekey keeps. Keys come from the environment
 * (`REKEY_DATA_KEY` or `REKEY_DATA_KEY_FILE`, older ones in
 * `REKEY_DATA_KEY_PREVIOUS`; see `dataKeys` in runner/runtime.ts), never
 * from a command line. Rotating: make a key with `keys new`, give it as the
 * current key and the old one as previous, run `keys rotate`, then stop
 * giving the old key.
 */
import type { Command } from 'commander';
import { newKeyText } from '../../lib/envelope.js';
import { keyStatus, rotateKeys, type KeyStatus, type KindCounts } from '../../pipelines/privacy/rotate.js';
import type { CommandResult } from '../cli.js';
import { formatTable, operatorActor, printJson, withLedger, withStateOptions, type StateOptions } from './status.command.js';

function counts(c: Partial<KindCounts>): string {
  return `${c.bodies ?? 0} bodies, ${c.conflicts ?? 0} conflicts, ${c.files ?? 0} files`;
}

function newKey(keys: Command): void {
  keys
    .command('new')
    .description('print a fresh random key-encryption key (64 hex digits) and how to give it to rekey')
    .action(() => {
      process.stdout.write(
        [
          newKeyText(),
          '',
          'Keep this key outside the state store (a secret manager, or a file readable by rekey alone) and give it as',
          '  REKEY_DATA_KEY=<key>            or  REKEY_DATA_KEY_FILE=<file holding it>',
          'To rotate to it: give it as above and the key it replaces as REKEY_DATA_KEY_PREVIOUS, run `rekey keys rotate`,',
          'then stop giving the old key (`rekey keys status` shows when nothing is under it any more).',
          '',
        ].join('\n'),
      );
    });
}

function statusText(s: KeyStatus): string {
  const rows = s.keys.map((k) => [k.kid, k.current ? 'current' : k.held ? 'previous' : 'NOT GIVEN', k.counts.bodies, k.counts.conflicts, k.counts.files]);
  const lines = [
    `current key: ${s.current}${s.generated ? ' (generated beside the state store: set REKEY_DATA_KEY or REKEY_DATA_KEY_FILE)' : ''}`,
    `keys given: ${s.held.join(', ')}`,
    '',
    rows.length ? formatTable(['KEY ID', 'KEY', 'BODIES', 'CONFLICTS', 'FILES'], rows).trimEnd() : 'no data keys in the state store yet',
  ];
  if (s.clear.bodies || s.clear.conflicts) lines.push(`still in clear (sealed when rekey next runs): ${s.clear.bodies} bodies, ${s.clear.conflicts} conflicts`);
  if (s.missing.length) lines.push(`data under keys not given, which cannot be opened: ${s.missing.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function status(keys: Command, result: CommandResult): void {
  withStateOptions(keys.command('status').description('wrapped data keys by key id, and whether any data is under a key not given (exit 1 then)')).action(
    async (opts: StateOptions) => {
      const s = await withLedger(opts.state, (ledger, _audit, store) => keyStatus(store, ledger.keys));
      if (opts.json) printJson(s);
      else process.stdout.write(statusText(s));
      result.code = s.missing.length ? 1 : 0;
    },
  );
}

function rotate(keys: Command): void {
  withStateOptions(keys.command('rotate').description('re-wrap every data key under the current key (bodies and files are not re-encrypted); audited'))
    .option('--operator <name>', 'who is acting (default: $USER)')
    .action(async (opts: StateOptions & { operator?: string }) => {
      const actor = operatorActor(opts.operator);
      const r = await withLedger(opts.state, async (ledger, audit, store) => {
        await ledger.sealExisting();
        return rotateKeys(store, audit, ledger.keys, actor);
      });
      if (opts.json) return printJson(r);
      const total = r.rewrapped.bodies + r.rewrapped.conflicts + r.rewrapped.files;
      process.stdout.write(
        total ? `re-wrapped ${counts(r.rewrapped)} from ${r.from.join(', ')} to ${r.to} as ${actor}\n` : `nothing to rotate: every data key is under ${r.to}\n`,
      );
    });
}

/** Registers `keys new|status|rotate`. */
export function keysCommand(program: Command, result: CommandResult): void {
  const keys = program.command('keys').description('the keys that encrypt citizens\' data at rest: make one, see which are in use, rotate');
  newKey(keys);
  status(keys, result);
  rotate(keys);
}
