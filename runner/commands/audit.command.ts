/**
 * `rekey audit verify|export|checkpoint|keygen`: check the hash chain (exit
 * 1 when broken), export it, sign its head, make a signing key pair.
 * Keys come from the deployer: `REKEY_AUDIT_SIGNING_KEY` (PEM private key
 * file) and `REKEY_AUDIT_VERIFY_KEY` (PEM public key file).
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline as pipe } from 'node:stream/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { VerifyResult } from '../../pipelines/audit/audit.types.js';
import { generateSigningKeys, parsePublicKey, readCheckpointFile } from '../../pipelines/audit/checkpoints.js';
import { PipelineCodes, PipelineError } from '../../pipelines/pipeline.errors.js';
import type { CommandResult } from '../cli.js';
import { printJson, withLedger, withStateOptions, type StateOptions } from './status.command.js';

function usage(cmd: Command, message: string): never {
  return cmd.error(`rekey: ${message}`, { exitCode: 2, code: 'rekey.usage' });
}

async function readKeyFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new PipelineError(PipelineCodes.AUDIT_KEY_INVALID, `cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** `--from`/`--to`: digits are a seq, anything else a date-time. */
function bound(name: string): (v: string) => number | Date {
  return (v) => {
    if (/^\d+$/.test(v)) return Number(v);
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new InvalidArgumentError(`${name} is neither a seq number nor a date-time`);
    return d;
  };
}

function verifyText(r: VerifyResult): string {
  if (r.ok) return `audit log OK: ${r.entries} entries, ${r.checkpoints} checkpoint(s) matched\n`;
  return `audit log BROKEN at seq ${r.firstBad!.seq}: ${r.firstBad!.problem}: ${r.firstBad!.detail} (${r.entries} entries verified before it)\n`;
}

function verify(audit: Command, result: CommandResult): void {
  withStateOptions(audit.command('verify').description('recompute the hash chain; exit 1 if any entry was edited, deleted or reordered'))
    .option('--checkpoints <file>', 'signed checkpoints (a .jsonl file or a folder of them) from the WORM copy')
    .option('--public-key <pem>', 'public key file for the checkpoints (default: $REKEY_AUDIT_VERIFY_KEY)')
    .action(async (opts: StateOptions & { checkpoints?: string; publicKey?: string }, cmd: Command) => {
      const keyPath = opts.publicKey ?? process.env.REKEY_AUDIT_VERIFY_KEY;
      if (opts.checkpoints && !keyPath) usage(cmd, '--checkpoints needs --public-key (or REKEY_AUDIT_VERIFY_KEY)');
      const publicKey = keyPath ? parsePublicKey(await readKeyFile(keyPath, 'verify key')) : undefined;
      const r = await withLedger(opts.state, async (_l, log) => {
        const checkpoints = opts.checkpoints ? await readCheckpointFile(opts.checkpoints) : publicKey ? await log.checkpoints() : [];
        return log.verify({ checkpoints, publicKey });
      });
      if (opts.json) printJson(r);
      else process.stdout.write(verifyText(r));
      result.code = r.ok ? 0 : 1;
    },
    );
}

function exportCmd(audit: Command): void {
  withStateOptions(audit.command('export').description('stream audit entries as CSV or JSON'))
    .option('--from <seq|time>', 'first entry (seq number, or ISO date-time)', bound('--from'))
    .option('--to <seq|time>', 'last entry (seq number, or ISO date-time)', bound('--to'))
    .option('--pipeline <name>', 'only this pipeline')
    .option('--format <format>', 'csv or json', 'csv')
    .option('--out <file>', 'write here instead of stdout')
    .action(async (opts: StateOptions & { from?: number | Date; to?: number | Date; pipeline?: string; format: string; out?: string }, cmd: Command) => {
      if (opts.format !== 'csv' && opts.format !== 'json') usage(cmd, '--format must be csv or json');
      await withLedger(opts.state, async (_l, log) => {
        const chunks = Readable.from(log.export({ from: opts.from, to: opts.to, pipeline: opts.pipeline, format: opts.format as 'csv' | 'json' }));
        if (opts.out) await pipe(chunks, createWriteStream(opts.out));
        else for await (const chunk of chunks) if (!process.stdout.write(chunk as string)) await new Promise((ok) => process.stdout.once('drain', ok));
      });
    },
    );
}

function checkpoint(audit: Command): void {
  withStateOptions(audit.command('checkpoint').description('sign the chain head (Ed25519) and optionally export the checkpoints'))
    .option('--key <pem>', 'private key file (default: $REKEY_AUDIT_SIGNING_KEY)')
    .option('--export <file|dir>', 'write every checkpoint to a new read-only file here (point it at WORM storage)')
    .action(async (opts: StateOptions & { key?: string; export?: string }, cmd: Command) => {
      const keyPath = opts.key ?? process.env.REKEY_AUDIT_SIGNING_KEY;
      if (!keyPath) usage(cmd, 'no signing key: give --key or set REKEY_AUDIT_SIGNING_KEY');
      const pem = await readKeyFile(keyPath, 'signing key');
      const out = await withLedger(opts.state, async (_l, log) => {
        const cp = await log.checkpoint(pem);
        return { checkpoint: cp, exported: opts.export ? await log.exportCheckpoints(opts.export) : null };
      });
      if (opts.json) return printJson(out);
      process.stdout.write(`signed seq ${out.checkpoint.seq} head ${out.checkpoint.headHash} (key ${out.checkpoint.keyId})\n`);
      if (out.exported) process.stdout.write(`checkpoints written to ${out.exported}\n`);
    },
    );
}

function keygen(audit: Command): void {
  audit
    .command('keygen')
    .description('create an Ed25519 key pair for signing checkpoints (never overwrites)')
    .argument('<dir>')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const keys = await generateSigningKeys(dir).catch((e: NodeJS.ErrnoException) => {
        throw new PipelineError(PipelineCodes.AUDIT_KEY_INVALID, `cannot create keys in ${dir}: ${e.code ?? e.message}`);
      });
      if (opts.json) return printJson(keys);
      process.stdout.write(`REKEY_AUDIT_SIGNING_KEY=${keys.privateKeyPath}\nREKEY_AUDIT_VERIFY_KEY=${keys.publicKeyPath}\n`);
      process.stderr.write('keep the signing key with the runner only; give the verify key to auditors\n');
    },
    );
}

/** Registers `audit` and its subcommands. */
export function auditCommand(program: Command, result: CommandResult): void {
  const audit = program.command('audit').description('the tamper-evident audit log: verify, export, checkpoint, keygen');
  verify(audit, result);
  exportCmd(audit);
  checkpoint(audit);
  keygen(audit);
}
