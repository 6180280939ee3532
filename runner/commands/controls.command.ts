/**
 * `rekey pause PIPELINE --reason TEXT`, `rekey resume PIPELINE` and
 * `rekey passes PIPELINE`: what the console does to a pipeline and shows of
 * its passes, for ops at a terminal. A pause is kept in the state store, so
 * every `rekey serve` sharing it skips the pipeline's wake-ups (webhook
 * intake still takes submissions in; they wait in the ledger) and
 * `rekey run` refuses it, until `rekey resume`. Both are audited
 * (`pipeline-paused` with the reason, `pipeline-resumed`). Exit 1 when the
 * pipeline is paused already (`PIPELINE_ALREADY_PAUSED`) or not paused
 * (`PIPELINE_NOT_PAUSED`).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { pausePipeline, resumePipeline, type PipelineControl } from '../../pipelines/ledger/controls.js';
import { listPasses, PAGE_MAX, type PassRecord } from '../../pipelines/ledger/runs-history.js';
import type { PassTrigger } from '../../pipelines/ledger/ledger.types.js';
import { formatTable, operatorActor, printJson, withStateOptions, withStore, type StateOptions } from './status.command.js';

function controlJson(c: PipelineControl) {
  return { pipeline: c.pipeline, paused: c.paused, by: c.by, reason: c.reason, since: c.since.toISOString() };
}

/** A trigger as the pass list shows it: `schedule`, `console by operator:alice`, `-` when none was recorded. */
export function triggerText(t: PassTrigger | null): string {
  if (!t) return '-';
  return t.by ? `${t.kind} by ${t.by}` : t.kind;
}

function duration(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

function passRow(p: PassRecord): unknown[] {
  const s = p.summary;
  const n = (k: 'read' | 'receivedNew' | 'duplicates' | 'rejected' | 'delivered' | 'failed' | 'dead') => (s ? s[k] : '-');
  const status = p.error ? `failed: ${p.error.code}` : p.status;
  return [p.id, p.startedAt.toISOString(), duration(p.durationMs), triggerText(p.trigger), status, n('read'), n('receivedNew'), n('duplicates'), n('rejected'), n('delivered'), n('failed'), n('dead')];
}

function limitOption(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > PAGE_MAX) throw new InvalidArgumentError(`give a whole number from 1 to ${PAGE_MAX}`);
  return n;
}

/** Registers `pause`, `resume` and `passes`. */
export function controlsCommand(program: Command): void {
  withStateOptions(
    program
      .command('pause')
      .description('pause a pipeline: no pass runs (serve skips its wake-ups, run refuses it) until rekey resume; submissions still arrive')
      .argument('<pipeline>'),
  )
    .requiredOption('--reason <text>', 'why, one short line (kept on the audit log; never personal data)')
    .option('--operator <name>', 'who is acting (default: $USER)')
    .action(async (pipeline: string, opts: StateOptions & { reason: string; operator?: string }) => {
      const actor = operatorActor(opts.operator);
      const c = await withStore(opts.state, (store) => pausePipeline(store, new AuditLog(store), pipeline, actor, opts.reason));
      if (opts.json) return printJson(controlJson(c));
      process.stdout.write(`paused ${pipeline} as ${actor}: ${c.reason}\nno pass runs until: rekey resume ${pipeline}\n`);
    });

  withStateOptions(program.command('resume').description('resume a paused pipeline: its passes run again on their next wake-up').argument('<pipeline>'))
    .option('--operator <name>', 'who is acting (default: $USER)')
    .action(async (pipeline: string, opts: StateOptions & { operator?: string }) => {
      const actor = operatorActor(opts.operator);
      const c = await withStore(opts.state, (store) => resumePipeline(store, new AuditLog(store), pipeline, actor));
      if (opts.json) return printJson(controlJson(c));
      process.stdout.write(`resumed ${pipeline} as ${actor}\n`);
    });

  withStateOptions(program.command('passes').description('the passes of a pipeline, newest first: what started each, how long it took, its counts').argument('<pipeline>'))
    .option('--limit <n>', `how many passes (1 to ${PAGE_MAX})`, limitOption, 20)
    .action(async (pipeline: string, opts: StateOptions & { limit: number }) => {
      const page = await withStore(opts.state, (store) => listPasses(store, { pipeline, limit: opts.limit }));
      if (opts.json) return printJson({ pipeline, passes: page.items, more: page.next !== null });
      if (!page.items.length) return void process.stdout.write(`no passes of ${pipeline} yet\n`);
      const headers = ['PASS', 'STARTED', 'TOOK', 'TRIGGER', 'STATUS', 'READ', 'NEW', 'DUPLICATES', 'REJECTED', 'DELIVERED', 'FAILED', 'DEAD'];
      process.stdout.write(formatTable(headers, page.items.map(passRow)));
      if (page.next !== null) process.stdout.write(`(the latest ${page.items.length}; --limit shows more)\n`);
    });
}
