/**
 * `rekey dlq list|show|retry|discard|correct`: the dead letters of a
 * pipeline, and what an operator does with them. Every action is audited with the
 * operator (`--operator`, else $USER) as actor.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadStory, resolveReference } from '../../pipelines/audit/story.js';
import { openLegacyText } from '../../pipelines/audit/story-open.js';
import type { Ledger } from '../../pipelines/ledger/ledger.js';
import type { LedgerState } from '../../pipelines/ledger/ledger.types.js';
import { errorFields, formReference } from '../../pipelines/ledger/run-problems.js';
import { PipelineCodes } from '../../pipelines/pipeline.errors.js';
import { formatHistory } from './show.text.js';
import { formatProblem } from '../../mappings/index.js';
import type { Corrections } from '../../pipelines/ledger/ledger.types.js';
import { loadMappingFile } from '../mapping-files.js';
import { piiKey, UsageError } from '../runtime.js';
import { piiHash } from '../../pipelines/audit/pii.js';
import { formatTable, operatorActor, printJson, withLedger, withStateOptions, type StateOptions } from './status.command.js';

const RETRY_PAGE = 1000;

/** A dead letter `retry --all` passes over: its body was erased or purged, so it cannot go through again. */
function bodyGone(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === PipelineCodes.SUBMISSION_ERASED.code || code === PipelineCodes.BODY_PURGED.code;
}

function intOption(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
    return n;
  };
}

function list(dlq: Command): void {
  withStateOptions(dlq.command('list').description('dead submissions of a pipeline (with --failed, also those waiting to retry; with --rejected, also those refused)').argument('<pipeline>'))
    .option('--failed', 'include failed submissions waiting to retry')
    .option('--rejected', 'include rejected submissions (refused by the mapping or the legacy system; never retried): key, reference, field, reason, when')
    .option('--all', 'every submission of the pipeline, whatever its state (delivered ones too)')
    .option('--limit <n>', 'at most this many', intOption('--limit'), 100)
    .option('--offset <n>', 'skip this many', intOption('--offset'), 0)
    .addHelpText('after', '\nOldest first; page with --limit and --offset. FIELD is the field an error names; reasons never hold a value of the submission.')
    .action(async (pipeline: string, opts: StateOptions & { failed?: boolean; rejected?: boolean; all?: boolean; limit: number; offset: number }) => {
      const states: LedgerState[] = opts.all ? [] : ['dead', ...(opts.failed ? ['failed' as const] : []), ...(opts.rejected ? ['rejected' as const] : [])];
      const found = await withLedger(opts.state, (l) => l.list(pipeline, { states, limit: opts.limit, offset: opts.offset }));
      const rows = found.map((r) => ({ ...r, reference: formReference(r.key), field: errorFields(r.lastError) }));
      if (opts.json) return printJson({ pipeline, rows });
      const table = rows.map((r) => [r.key, r.state, r.attempts, r.reference, r.field, r.updatedAt.toISOString(), r.lastError ? `${r.lastError.code}: ${r.lastError.message}` : '']);
      process.stdout.write(formatTable(['KEY', 'STATE', 'ATTEMPTS', 'REFERENCE', 'FIELD', 'UPDATED', 'LAST ERROR'], table));
    },
    );
}

function show(dlq: Command): void {
  withStateOptions(dlq.command('show').description('one submission: its row, last error and history').argument('<pipeline>').argument('<reference>', 'key, form reference, legacy reference or the start of one'))
    .option('--body', 'also print the stored submission body (may hold personal data)')
    .option('--reveal', "also print the legacy system's own text of the last error (may hold personal data; the access is audited)")
    .option('--operator <name>', 'who is looking, for the audit entry --reveal makes (default: $USER)')
    .action(async (pipeline: string, reference: string, opts: StateOptions & { body?: boolean; reveal?: boolean; operator?: string }) => {
      const actor = operatorActor(opts.operator);
      const found = await withLedger(opts.state, async (l, audit, store) => {
        const key = await resolveReference(store, pipeline, reference);
        const row = await l.get(pipeline, key, { body: opts.body === true });
        const revealed = opts.reveal && row ? await openLegacyText(l, audit, pipeline, key, row.lastError, actor) : undefined;
        return { key, row, revealed, history: await l.history(pipeline, key), story: (await loadStory(store, audit, pipeline, key))! };
      });
      const { key } = found;
      const history = () => `\n${formatHistory(found.story)}`;
      if (!found.row) {
        if (opts.json) return printJson({ row: null, history: found.history });
        return void process.stdout.write(`${key} of ${pipeline}: its ledger row was purged by the retention policy; its audit trail remains\n${history()}`);
      }
      const { body, ...row } = found.row;
      const revealed = found.revealed && (found.revealed.text === null ? { legacyText: null, why: found.revealed.why } : { legacyText: found.revealed.text, openedAs: actor, openedSeq: found.revealed.seq });
      if (opts.json) return printJson({ row: opts.body ? found.row : row, history: found.history, ...revealed });
      const fields: [string, unknown][] = [
        ['key', row.key],
        ['state', row.state],
        ['attempts', row.attempts],
        ['next attempt', row.nextAttemptAt?.toISOString()],
        ['last error', row.lastError ? `${row.lastError.code} (${row.lastError.disposition}): ${row.lastError.message}` : ''],
        ...(row.lastError?.textHash ? [['legacy text', found.revealed?.text ?? `kept sealed (${row.lastError.textHash}); --reveal prints it (audited)`] as [string, unknown]] : []),
        ['legacy ref', row.legacyRef],
        ['mapping', row.mappingVersion],
        ['source', row.source],
        ['received', row.createdAt.toISOString()],
        ['updated', row.updatedAt.toISOString()],
      ];
      process.stdout.write(formatTable(['FIELD', 'VALUE'], fields));
      if (found.revealed) process.stdout.write(found.revealed.text === null ? `\nlegacy text: ${found.revealed.why}\n` : `\nlegacy text opened as ${actor} (citizens' data in clear), audit entry #${found.revealed.seq}\n`);
      process.stdout.write(history());
      if (opts.body) process.stdout.write(`\nbody\n${JSON.stringify(body, null, 2)}\n`);
    },
    );
}

/** Retries `keys` in one move, else (one of them lost its body) one by one; resolves to whether each went through. */
async function retryPage(l: Ledger, pipeline: string, keys: string[], actor: string): Promise<boolean[]> {
  try {
    await l.retry(pipeline, keys, actor);
    return keys.map(() => true);
  } catch (e) {
    if (!bodyGone(e)) throw e;
    if (keys.length === 1) return [false];
  }
  const out: boolean[] = [];
  for (const key of keys) out.push(...(await retryPage(l, pipeline, [key], actor)));
  return out;
}

/** Every dead letter of `pipeline` back to received, a page at a time; those whose body was erased or purged stay dead (`skipped`). */
async function retryAllDead(l: Ledger, pipeline: string, actor: string): Promise<{ retried: string[]; skipped: string[] }> {
  const retried: string[] = [];
  const skipped: string[] = [];
  for (;;) {
    const page = (await l.list(pipeline, { states: ['dead'], limit: RETRY_PAGE, offset: skipped.length })).map((r) => r.key);
    if (!page.length) return { retried, skipped };
    const went = await retryPage(l, pipeline, page, actor);
    page.forEach((key, i) => (went[i] ? retried : skipped).push(key));
  }
}

function retry(dlq: Command): void {
  withStateOptions(dlq.command('retry').description('send dead or failed submissions back to received').argument('<pipeline>').argument('[references...]', 'keys, form references, legacy references or the start of one'))
    .option('--all', 'retry every dead submission of the pipeline (those whose body was erased or purged stay dead)')
    .option('--operator <name>', 'who is acting (default: $USER)')
    .action(async (pipeline: string, references: string[], opts: StateOptions & { all?: boolean; operator?: string }, cmd: Command) => {
      if (Boolean(opts.all) === references.length > 0) cmd.error('rekey: give either keys or --all', { exitCode: 2, code: 'rekey.usage' });
      const actor = operatorActor(opts.operator);
      const { retried, skipped } = await withLedger(opts.state, async (l, _a, store) => {
        if (opts.all) return retryAllDead(l, pipeline, actor);
        const keys: string[] = [];
        for (const r of references) keys.push(await resolveReference(store, pipeline, r));
        await l.retry(pipeline, keys, actor);
        return { retried: keys, skipped: [] };
      });
      if (opts.json) return printJson({ pipeline, retried, ...(opts.all && { skipped }) });
      const note = skipped.length ? `; ${skipped.length} left dead, their bodies erased or purged` : '';
      process.stdout.write(`retried ${retried.length} submission(s) of ${pipeline} as ${actor}${note}\n`);
    },
    );
}

function discard(dlq: Command): void {
  withStateOptions(dlq.command('discard').description('give up on a dead submission, for a stated reason').argument('<pipeline>').argument('<reference>', 'key, form reference, legacy reference or the start of one'))
    .requiredOption('--reason <text>', 'why it is given up (kept on the audit log)')
    .option('--operator <name>', 'who is acting (default: $USER)')
    .action(async (pipeline: string, reference: string, opts: StateOptions & { reason: string; operator?: string }, cmd: Command) => {
      if (!opts.reason.trim()) cmd.error('rekey: --reason must not be empty', { exitCode: 2, code: 'rekey.usage' });
      const actor = operatorActor(opts.operator);
      const key = await withLedger(opts.state, async (l, _a, store) => {
        const key = await resolveReference(store, pipeline, reference);
        await l.discard(pipeline, key, opts.reason, actor);
        return key;
      });
      if (opts.json) return printJson({ pipeline, discarded: key });
      process.stdout.write(`discarded ${key} of ${pipeline} as ${actor}\n`);
    },
    );
}

/**
 * `FIELD=VALUE` (VALUE as text) or `FIELD:=JSON` (a number, true, false,
 * null or a quoted text) as corrections; a usage error names the argument
 * by its field only, never its value.
 */
export function parseCorrections(args: readonly string[]): Corrections {
  const out: Corrections = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UsageError(`each correction is FIELD=VALUE or FIELD:=JSON; argument ${args.indexOf(arg) + 1} has no FIELD=`);
    const typed = arg[eq - 1] === ':';
    const field = arg.slice(0, typed ? eq - 1 : eq);
    if (!field) throw new UsageError(`argument ${args.indexOf(arg) + 1} names no field`);
    if (field in out) throw new UsageError(`${field} is corrected twice`);
    const text = arg.slice(eq + 1);
    if (!typed) {
      out[field] = text;
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new UsageError(`${field}:= needs a JSON value (a number, true, false, null or "text")`);
    }
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) throw new UsageError(`${field}:= needs a number, true, false, null or "text", not a list or object`);
    out[field] = v as string | number | boolean | null;
  }
  return out;
}

function correct(dlq: Command): void {
  withStateOptions(
    dlq
      .command('correct')
      .description('correct mapped values the legacy system refused, and send the submission through again under the same key')
      .argument('<pipeline>')
      .argument('<reference>', 'key, form reference, legacy reference or the start of one')
      .argument('<corrections...>', 'FIELD=VALUE (text) or FIELD:=JSON (number, true, false, null); GROUP[n].FIELD for the n-th child row, from 1'),
  )
    .requiredOption('--mapping <file>', "the pipeline's mapping file (the one its runner maps with): fields and rules are checked against it")
    .requiredOption('--reason <text>', 'why the values are corrected (kept on the audit log)')
    .option('--operator <name>', 'who is acting (default: $USER)')
    .addHelpText('after', '\nTakes a dead or rejected submission. Each value is checked against its field\'s rules in the mapping;\nthe audit log keeps the operator, reason, field names and keyed hashes of old and new values, never a value.\nValues are kept sealed under the submission\'s data key, and erased with it.')
    .action(async (pipeline: string, reference: string, args: string[], opts: StateOptions & { mapping: string; reason: string; operator?: string }, cmd: Command) => {
      if (!opts.reason.trim()) cmd.error('rekey: --reason must not be empty', { exitCode: 2, code: 'rekey.usage' });
      const corrections = parseCorrections(args);
      const loaded = await loadMappingFile(opts.mapping);
      if (!loaded.compiled) throw new UsageError(`the mapping ${opts.mapping} has problems:\n${loaded.problems.map(formatProblem).join('\n')}`);
      const mapping = loaded.compiled;
      const key = piiKey();
      const actor = operatorActor(opts.operator);
      const done = await withLedger(opts.state, async (l, _a, store) => {
        const found = await resolveReference(store, pipeline, reference);
        return l.correct(pipeline, found, corrections, opts.reason, actor, { mapping, piiHash: (v) => piiHash(v, key) });
      });
      if (opts.json) return printJson({ pipeline, corrected: done.key, from: done.from, fields: done.fields, originalFrom: done.originalFrom });
      process.stdout.write(`corrected ${done.fields.join(', ')} of ${done.key} in ${pipeline} as ${actor} (was ${done.from}; queued as received, the next pass delivers it under the same key)\n`);
    },
    );
}

/** Registers `dlq` and its subcommands. */
export function dlqCommand(program: Command): void {
  const dlq = program.command('dlq').description('dead letters: list, show, retry, discard, correct');
  list(dlq);
  show(dlq);
  retry(dlq);
  discard(dlq);
  correct(dlq);
}
