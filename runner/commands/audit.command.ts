/**
 * `rekey audit verify|export|prove|checkpoint|keygen`: check the hash chain
 * (exit 1 when broken; 3 when a verify key was given and no signed
 * checkpoint holds any of it) in the state store or, offline, in a `jsonl`
 * export or a proof; export it; prove one submission's entries; sign its
 * head; make a signing key pair. Keys come from the deployer:
 * `REKEY_AUDIT_SIGNING_KEY` (PEM private key file) and
 * `REKEY_AUDIT_VERIFY_KEY` (PEM public key file); external checkpoints from
 * `REKEY_AUDIT_CHECKPOINTS` (the write-once folder `rekey serve` writes to).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline as pipe } from 'node:stream/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { AUDIT_EVENTS, type SignedCheckpoint, type VerifyResult } from '../../pipelines/audit/audit.types.js';
import { generateSigningKeys, parsePublicKey, readCheckpointFile } from '../../pipelines/audit/checkpoints.js';
import { verifyExport, type ExportVerifyResult } from '../../pipelines/audit/export-verify.js';
import { parseProof, verifyProof, type AuditProof, type ProofVerifyResult } from '../../pipelines/audit/audit.prove.js';
import { resolveReference } from '../../pipelines/audit/story.js';
import { resolveCase, routesOf } from '../../pipelines/ledger/cases.js';
import { LEDGER_STATES } from '../../pipelines/ledger/ledger.js';
import { PipelineCodes, PipelineError } from '../../pipelines/pipeline.errors.js';
import type { CommandResult } from '../cli.js';
import { auditCheckCommand } from './audit-check.command.js';
import { auditMappingCommands } from './audit-mapping.command.js';
import { operatorActor, printJson, withLedger, withStateOptions, type StateOptions } from './status.command.js';

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

/** What `rekey audit verify` says when no external checkpoint holds the chain. */
export const NO_EXTERNAL_CHECKPOINT = 'no external checkpoint: a rewrite of the whole chain or of its tail cannot be detected; see docs/audit-checkpoints.md';

/**
 * The store's verdict, with what the checkpoints covered: `proved` says in
 * words what the run showed, `notProved` what it could not (null when a
 * signed checkpoint covers the last entry), `lastCheckpoint` the seq of the
 * last checkpoint checked and `checkpointsFrom` where the checkpoints came
 * from.
 */
type StoreVerify = VerifyResult & {
  externalCheckpoints: number;
  lastExternalCheckpoint: number | null;
  warning?: string;
  proved?: string;
  notProved?: string | null;
  lastCheckpoint?: number | null;
  checkpointsFrom?: 'external' | 'state store' | null;
};

/** Exit code of `rekey audit verify` when a verify key was given and the chain is intact but no signed checkpoint covers any of it. */
export const VERIFY_UNPROVEN_EXIT = 3;

/**
 * What an intact chain of `entries` entries checked against `used`
 * checkpoints (all matched; `external` when they came from the write-once
 * copy) proved and did not.
 */
export function coverage(entries: number, used: readonly SignedCheckpoint[], external: boolean): Pick<StoreVerify, 'proved' | 'notProved' | 'lastCheckpoint' | 'checkpointsFrom'> {
  const last = used.length ? Math.max(...used.map((c) => c.seq)) : null;
  if (last === null) {
    return {
      proved: entries ? `the internal hash chain only: seqs 1..${entries} match their hashes and each links to the one before` : 'the log is empty',
      notProved: entries ? `entries 1..${entries} are not covered by any signed checkpoint: a rewrite of the whole chain or of its tail cannot be detected` : null,
      lastCheckpoint: null,
      checkpointsFrom: null,
    };
  }
  const from = external ? 'external' : 'state store';
  return {
    proved: `the hash chain, seqs 1..${entries}, and that seqs 1..${last} are the chain signed by the checkpoint at seq ${last} (${external ? 'from the external copy' : 'kept in the state store'})`,
    notProved: last < entries ? `entries after seq ${last} (seqs ${last + 1}..${entries}) are not covered by any signed checkpoint: a rewrite of them cannot be detected until the next checkpoint` : null,
    lastCheckpoint: last,
    checkpointsFrom: from,
  };
}

function verifyText(r: StoreVerify, unproven: boolean): string {
  if (!r.ok) return `audit log BROKEN at seq ${r.firstBad!.seq}: ${r.firstBad!.problem}: ${r.firstBad!.detail} (${r.entries} entries verified before it)\n`;
  const lines = [`audit log OK: ${r.entries} entries, ${r.checkpoints} checkpoint(s) matched`, `proved: ${r.proved}`];
  if (r.notProved) lines.push(`not proved: ${r.notProved}`);
  if (r.warning) lines.push(r.warning);
  if (unproven) lines.push(`a verify key was given but no signed checkpoint was found to hold the chain to (exit ${VERIFY_UNPROVEN_EXIT})`);
  return `${lines.join('\n')}\n`;
}

function exportText(r: ExportVerifyResult): string {
  if (!r.ok) return `export BROKEN at seq ${r.firstBad!.seq}: ${r.firstBad!.problem}: ${r.firstBad!.detail}\n`;
  const range = r.range ? `seqs ${r.range.from}..${r.range.to}` : 'no entries';
  const omitted = !r.omitted
    ? ''
    : r.sealed
      ? `${r.omitted} entries the filter left out are hashes only: they link the chain and are as exported (the export is sealed), but their hashes are not recomputed\n`
      : `${r.omitted} entries the filter left out are hashes only: they link the chain, but the export is not sealed and their hashes are taken from it, not recomputed\n`;
  return `export OK: ${range}, ${r.entries} entries recomputed, ${r.omitted} omitted by the filter, ${r.checkpoints} checkpoint(s) matched, the last at seq ${r.lastCheckpoint}\n${omitted}`;
}

/** `--checkpoints`, else `$REKEY_AUDIT_CHECKPOINTS` when it names a folder; null when neither gives one. */
async function externalCheckpointPath(given: string | undefined): Promise<string | null> {
  if (given) return given;
  const env = process.env.REKEY_AUDIT_CHECKPOINTS;
  if (!env || /^https?:\/\//.test(env)) return null;
  return (await stat(env).catch(() => null))?.isDirectory() ? env : null;
}

async function verifyExportFile(file: string, checkpoints: SignedCheckpoint[], publicKeyPem: string | undefined): Promise<ExportVerifyResult> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  try {
    return await verifyExport(lines, { checkpoints, publicKey: publicKeyPem ? parsePublicKey(publicKeyPem) : undefined });
  } finally {
    lines.close();
  }
}

/** What `rekey audit verify --proof` prints: the verdict, then what each proven entry says about the submission. */
export function proofText(r: ProofVerifyResult): string {
  if (!r.ok) return `proof BROKEN at seq ${r.firstBad!.seq}: ${r.firstBad!.problem}: ${r.firstBad!.detail}\n`;
  const held = r.anchor
    ? `held to the checkpoint at seq ${r.anchor.seq} signed at ${r.anchor.signedAt} (key ${r.anchor.keyId})`
    : 'NOT held to a signed checkpoint: the entries link, but a rewrite of the log cannot be ruled out';
  const lines = [`proof OK: submission ${r.key} of pipeline ${r.pipeline}, ${r.proven.length} entries naming it, ${r.entries} entries recomputed, ${held}`];
  const lanes = r.proven.some((e) => e.pipeline !== r.pipeline);
  for (const e of r.proven) {
    const rec = e.records[0];
    const parts = [`seq ${e.seq}`, e.at, ...(lanes ? [e.pipeline] : []), e.event, `by ${e.actor}`];
    if (e.mappingVersion) parts.push(`mapping ${e.mappingVersion}`);
    const target = rec?.target ? `${rec.target.kind}:${rec.target.system}${rec.target.object ? `/${rec.target.object}` : ''}` : e.target;
    if (target) parts.push(`target ${target}`);
    const ref = rec?.legacyRef ?? e.legacyRef;
    if (ref) parts.push(`legacy ref ${ref}`);
    if (rec?.sent) parts.push(`sent ${rec.sent.hash}`);
    if (rec?.error) parts.push(`error ${rec.error.code}`);
    lines.push(`  ${parts.join('  ')}`);
  }
  lines.push('not proved: that no other entry names the submission (a proof shows the entries it holds, not the absence of others)');
  return `${lines.join('\n')}\n`;
}

async function readProofFile(file: string): Promise<AuditProof> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new PipelineError(PipelineCodes.AUDIT_PROOF_INVALID, `cannot read the proof ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseProof(text);
}

function verify(audit: Command, result: CommandResult): void {
  withStateOptions(audit.command('verify').description('recompute the hash chain (in the state store, or offline in an export or a proof); exit 1 if any entry was edited, deleted, reordered or appended'))
    .option('--export <file>', 'verify a `rekey audit export --format jsonl` file offline instead of the state store (no state store needed)')
    .option('--proof <file>', 'verify a `rekey audit prove` file offline: one submission\'s entries, held to a signed checkpoint (no state store needed)')
    .option('--checkpoints <file|dir>', 'signed checkpoints (a .jsonl file or a folder of them) from the write-once copy (default: $REKEY_AUDIT_CHECKPOINTS when a folder)')
    .option('--public-key <pem>', 'public key file for the checkpoints (default: $REKEY_AUDIT_VERIFY_KEY)')
    .addHelpText(
      'after',
      '\nIt says what it proved (the internal chain only, or up to the last signed checkpoint) and what it did not (entries after that checkpoint).\n' +
        'Without external checkpoints, a rewrite of the whole chain or of its tail cannot be detected (see docs/audit-checkpoints.md).\n' +
        `Exit 0 intact, 1 broken, ${VERIFY_UNPROVEN_EXIT} intact but a verify key was given (--public-key or REKEY_AUDIT_VERIFY_KEY) and no signed checkpoint was found.\n` +
        'With --export, a line past the last checkpoint the export covers fails: it cannot be told from an appended one.\n' +
        `With --proof, exit 0 when the submission's entries are on the chain as a signed checkpoint holds it, 1 when the proof is broken, ${VERIFY_UNPROVEN_EXIT} when it holds no checkpoint.`,
    )
    .action(async (opts: StateOptions & { export?: string; proof?: string; checkpoints?: string; publicKey?: string }, cmd: Command) => {
      if (opts.export && opts.proof) usage(cmd, 'give --export or --proof, not both');
      const cpPath = await externalCheckpointPath(opts.checkpoints);
      const keyPath = opts.publicKey ?? process.env.REKEY_AUDIT_VERIFY_KEY ?? (opts.checkpoints ? undefined : process.env.REKEY_AUDIT_SIGNING_KEY);
      const offline = opts.export ? '--export' : opts.proof ? '--proof' : opts.checkpoints ? '--checkpoints' : null;
      if (offline && !keyPath) usage(cmd, `${offline} needs --public-key (or REKEY_AUDIT_VERIFY_KEY)`);
      const pem = keyPath ? await readKeyFile(keyPath, 'verify key') : undefined;
      const publicKey = pem ? parsePublicKey(pem) : undefined;
      if (opts.proof) {
        const r = verifyProof(await readProofFile(opts.proof), { publicKey });
        if (opts.json) printJson(r);
        else process.stdout.write(proofText(r));
        result.code = !r.ok ? 1 : r.anchor ? 0 : VERIFY_UNPROVEN_EXIT;
        return;
      }
      const external = cpPath && publicKey ? await readCheckpointFile(cpPath) : [];
      if (opts.export) {
        const r = await verifyExportFile(opts.export, external, pem);
        if (opts.json) printJson(r);
        else process.stdout.write(exportText(r));
        result.code = r.ok ? 0 : 1;
        return;
      }
      const { v, used } = await withLedger(opts.state, async (_l, log) => {
        const checkpoints = external.length ? external : publicKey ? await log.checkpoints() : [];
        return { v: await log.verify({ checkpoints, publicKey }), used: checkpoints };
      });
      const r: StoreVerify = {
        ...v,
        externalCheckpoints: external.length,
        lastExternalCheckpoint: external.length ? Math.max(...external.map((c) => c.seq)) : null,
        ...(external.length ? {} : { warning: NO_EXTERNAL_CHECKPOINT }),
        ...(v.ok ? coverage(v.entries, used, external.length > 0) : {}),
      };
      // A verify key asked for by name (not the signing key's, taken for convenience) means the caller expects checkpoints.
      const keyAsked = Boolean(opts.publicKey || process.env.REKEY_AUDIT_VERIFY_KEY);
      const unproven = r.ok && keyAsked && r.lastCheckpoint === null && r.entries > 0;
      if (opts.json) printJson(r);
      else process.stdout.write(verifyText(r, unproven));
      result.code = !r.ok ? 1 : unproven ? VERIFY_UNPROVEN_EXIT : 0;
    },
    );
}

/** `--event`: repeatable, or a comma list; each an audit event. */
function collectEvents(v: string, prev: string[]): string[] {
  const events = v.split(',').map((e) => e.trim()).filter(Boolean);
  const unknown = events.find((e) => !(AUDIT_EVENTS as readonly string[]).includes(e));
  if (unknown !== undefined) throw new InvalidArgumentError(`unknown event ${JSON.stringify(unknown)}; events are ${AUDIT_EVENTS.join(', ')}`);
  return [...prev, ...events];
}

function ledgerState(v: string): string {
  if (!(LEDGER_STATES as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown state ${JSON.stringify(v)}; states are ${LEDGER_STATES.join(', ')}`);
  return v;
}

interface ExportOptions extends StateOptions {
  from?: number | Date;
  to?: number | Date;
  pipeline?: string;
  key?: string;
  inState?: string;
  event: string[];
  format: string;
  out?: string;
  sign?: boolean;
  signingKey?: string;
  operator?: string;
}

function exportCmd(audit: Command): void {
  withStateOptions(audit.command('export').description('stream audit entries as CSV, JSON, or JSON lines verifiable offline'))
    .option('--from <seq|time>', 'first entry (seq number, or ISO date-time)', bound('--from'))
    .option('--to <seq|time>', 'last entry (seq number, or ISO date-time; default: the head when the export starts)', bound('--to'))
    .option('--pipeline <name>', 'only this pipeline')
    .option('--key <reference>', "only entries naming this submission: its key, the form's or the legacy system's reference, or an unambiguous prefix; a purged one by key or form reference (needs --pipeline)")
    .option('--in-state <state>', `only entries naming submissions now in this ledger state (${LEDGER_STATES.join(', ')}); --state is the state store`, ledgerState)
    .option('--event <event>', 'only these events (repeat the option, or give a comma list)', collectEvents, [])
    .option('--format <format>', 'csv, json, or jsonl (the only one `rekey audit verify --export` verifies offline)', 'csv')
    .option('--sign', 'jsonl: sign a checkpoint at the range end and seal the file (default when a signing key is set)')
    .option('--no-sign', 'jsonl: neither checkpoint nor seal')
    .option('--signing-key <pem>', 'private key file for --sign (default: $REKEY_AUDIT_SIGNING_KEY)')
    .option('--out <file>', 'write here instead of stdout')
    .option('--operator <name>', 'who is exporting, recorded on the audit log as audit-exported (default: $USER)')
    .addHelpText(
      'after',
      '\nCSV and JSON hold the selected entries, for reading; each entry\'s keys are a JSON array.\n' +
        'jsonl is verifiable offline: a header line (format, version, chain range, filter, checkpoint), then one line per seq of the range:\n' +
        'the whole entry, or {seq, omitted, prevHash, hash} for an entry the filters leave out, so the chain links and nothing else about it leaks.\n' +
        'With a signing key the header carries a checkpoint signed at the range end, and a signed seal over every line ends the file.\n' +
        'Each export is then recorded on the audit log (audit-exported: who, format, filter, range, how many entries), after the range it covers.',
    )
    .action(async (opts: ExportOptions, cmd: Command) => {
      if (opts.format !== 'csv' && opts.format !== 'json' && opts.format !== 'jsonl') usage(cmd, '--format must be csv, json or jsonl');
      if (opts.key !== undefined && opts.pipeline === undefined) usage(cmd, '--key needs --pipeline');
      const keyPath = opts.signingKey ?? process.env.REKEY_AUDIT_SIGNING_KEY;
      if (opts.sign === true && opts.format !== 'jsonl') usage(cmd, '--sign needs --format jsonl');
      if (opts.sign === true && !keyPath) usage(cmd, '--sign needs --signing-key or REKEY_AUDIT_SIGNING_KEY');
      const signingKey = opts.format === 'jsonl' && opts.sign !== false && keyPath ? await readKeyFile(keyPath, 'signing key') : undefined;
      await withLedger(opts.state, async (_l, log, store) => {
        const key = opts.key === undefined ? undefined : await resolveReference(store, opts.pipeline!, opts.key);
        const filter = { pipeline: opts.pipeline, key, state: opts.inState, events: opts.event.length ? opts.event : undefined };
        const describe = Object.fromEntries(Object.entries({ ...filter, reference: opts.key }).filter(([, v]) => v !== undefined));
        const chunks = Readable.from(log.exportRecorded({ from: opts.from, to: opts.to, ...filter, format: opts.format as 'csv' | 'json' | 'jsonl', signingKey, describe }, operatorActor(opts.operator)));
        if (opts.out) await pipe(chunks, createWriteStream(opts.out));
        else for await (const chunk of chunks) if (!process.stdout.write(chunk as string)) await new Promise((ok) => process.stdout.once('drain', ok));
      });
    },
    );
}

function prove(audit: Command, result: CommandResult): void {
  withStateOptions(audit.command('prove').description("write an inclusion proof of one submission's audit entries, checkable offline with the verify key alone (rekey audit verify --proof)"))
    .argument('<pipeline>', 'pipeline name')
    .argument('<reference>', "the submission: its key, the form's or the legacy system's reference, or an unambiguous prefix")
    .option('--out <file>', 'write the proof here instead of stdout')
    .option('--checkpoints <file|dir>', 'signed checkpoints to hold the proof to, from the write-once copy (default: $REKEY_AUDIT_CHECKPOINTS when a folder, else those in the state store)')
    .option('--operator <name>', 'who is making the proof, recorded on the audit log as audit-proved (default: $USER)')
    .addHelpText(
      'after',
      "\nThe proof holds the submission's entries, with its records only (each with its Merkle audit path), and every entry from the first of them\n" +
        "to the first signed checkpoint at or after the last, as the columns and hashes their hash covers (never another submission's record).\n" +
        'When no checkpoint is at or after its last entry, the proof runs to the head and is not held to a signature: sign one (rekey audit checkpoint) and prove again.\n' +
        'Making a proof is recorded on the audit log (audit-proved: who, which submission, the seqs covered), after the range it covers.',
    )
    .action(async (pipeline: string, reference: string, opts: StateOptions & { out?: string; checkpoints?: string; operator?: string }) => {
      const cpPath = await externalCheckpointPath(opts.checkpoints);
      const external = cpPath ? await readCheckpointFile(cpPath) : undefined;
      const write = async (text: string) => {
        if (opts.out) await pipe(Readable.from([text]), createWriteStream(opts.out, { flags: 'wx' }));
        else process.stdout.write(text);
      };
      const { proof, check } = await withLedger(opts.state, async (_l, log, store) => {
        // A routed pipeline's proof holds the whole case: its lanes' entries for the key too, the case found as `rekey show` finds it.
        const lanes = await routesOf(store, pipeline);
        const key = lanes.length ? await resolveCase(store, pipeline, reference) : await resolveReference(store, pipeline, reference);
        return log.proveRecorded(pipeline, key, operatorActor(opts.operator), write, { checkpoints: external, lanes });
      });
      if (!check.ok) {
        process.stderr.write(`rekey: the audit log is broken at seq ${check.firstBad!.seq} (${check.firstBad!.problem}: ${check.firstBad!.detail}); no proof written: run rekey audit verify\n`);
        result.code = 1;
        return;
      }
      const last = proof.entries[proof.entries.length - 1]!;
      const held = proof.checkpoint
        ? `held to the checkpoint at seq ${proof.checkpoint.seq} signed at ${proof.checkpoint.signedAt}`
        : `NOT held to a signed checkpoint: none is at or after seq ${check.proven[check.proven.length - 1]!.seq}; sign one (rekey audit checkpoint) and prove again`;
      const across = proof.lanes ? ` across ${proof.pipeline} and its routes' lanes ${proof.lanes.join(', ')}` : '';
      process.stderr.write(`proof of submission ${proof.key}: ${check.proven.length} entries naming it${across}, seqs ${proof.entries[0]!.seq}..${last.seq}, ${held}\n`);
    });
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
  const audit = program.command('audit').description('the tamper-evident audit log: verify, export, prove, check, mapping, diff, checkpoint, keygen');
  verify(audit, result);
  exportCmd(audit);
  prove(audit, result);
  checkpoint(audit);
  keygen(audit);
  auditMappingCommands(audit);
  auditCheckCommand(audit, result);
}
