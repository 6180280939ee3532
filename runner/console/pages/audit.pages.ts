/**
 * The console's audit page (`read`: auditors and operators):
 *
 * - the chain: its head, and a verification as `rekey audit verify` makes
 *   it (the same external checkpoints and key, the same warning without
 *   them). Verifying recomputes every entry, minutes on a log of millions,
 *   so it runs when a user asks ("Verify now", a POST), in the background,
 *   one at a time per process, and the page shows the last result, when
 *   and for whom it ran. Verifying only the entries added since the last
 *   run would be cheaper but would miss an edit to an older entry, which is
 *   what the check is for.
 * - external checkpoints: whether serve writes them, where, how often, the
 *   last one written, and how many entries it does not cover yet;
 * - the stored mapping versions, each linking to `/mappings/:version`;
 * - a submission's inclusion proof (`/submissions/:pipeline/:key/proof`,
 *   GET, linked from its page's timeline): the file `rekey audit prove`
 *   writes, held to the external checkpoints when their folder is set,
 *   else to the store's; recorded as `audit-proved` by the user once made;
 * - export (`/audit/export`, GET): a date range and pipeline, streamed as
 *   an attachment exactly as `rekey audit export --format jsonl` writes it
 *   (signed and sealed when `REKEY_AUDIT_SIGNING_KEY` is set, as the CLI
 *   does), so `rekey audit verify --export` checks the file. Like the
 *   CLI's export it is recorded on the audit log as `audit-exported` with
 *   the user (`console:NAME`), the filter, the range and how many entries
 *   went out, appended once the file is written and never inside it; it
 *   is also logged with the user and the filter.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkpointName } from '../../../pipelines/audit/checkpoint-store.js';
import { parsePublicKey, readCheckpointFile } from '../../../pipelines/audit/checkpoints.js';
import { listMappingVersionUse } from '../../../pipelines/audit/mapping-versions.js';
import type { SignedCheckpoint, VerifyResult } from '../../../pipelines/audit/audit.types.js';
import { routesOf } from '../../../pipelines/ledger/cases.js';
import { PipelineCodes } from '../../../pipelines/pipeline.errors.js';
import { NO_EXTERNAL_CHECKPOINT } from '../../commands/audit.command.js';
import { CHECKPOINT_CRON, CHECKPOINTS_OFF } from '../../serve/audit-checkpoints.js';
import type { ConsolePages } from '../console.js';
import type { ConsoleContext } from '../context.js';

/** The settings the page reads, as `rekey serve` and `rekey audit` read them from the environment. */
export type AuditEnv = Partial<Record<'REKEY_AUDIT_CHECKPOINTS' | 'REKEY_AUDIT_SIGNING_KEY' | 'REKEY_AUDIT_VERIFY_KEY' | 'REKEY_AUDIT_CHECKPOINT_CRON', string>>;

/** A verification as the page shows it. */
export interface ChainCheck {
  result?: VerifyResult & { externalCheckpoints: number; lastExternalCheckpoint: number | null; warning?: string };
  /** Why it could not run (a key or checkpoint file that does not read). */
  failed?: string;
  by: string;
  /** The audit actor of `by` (`console:NAME`). */
  actor: string;
  startedAt: Date;
  finishedAt?: Date;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The external checkpoint folder (`REKEY_AUDIT_CHECKPOINTS` when it names one), else null. */
async function checkpointFolder(env: AuditEnv): Promise<string | null> {
  const dest = env.REKEY_AUDIT_CHECKPOINTS;
  if (!dest || /^https?:\/\//i.test(dest)) return null;
  return (await stat(dest).catch(() => null))?.isDirectory() ? dest : null;
}

/** Verifies the chain as `rekey audit verify` does with the same environment: external checkpoints when a folder and key are set, else the store's own. */
async function verifyLikeCli(ctx: ConsoleContext, env: AuditEnv): Promise<NonNullable<ChainCheck['result']>> {
  const folder = await checkpointFolder(env);
  const keyPath = env.REKEY_AUDIT_VERIFY_KEY ?? env.REKEY_AUDIT_SIGNING_KEY;
  const publicKey = keyPath ? parsePublicKey(await readFile(keyPath, 'utf8')) : undefined;
  const external = folder && publicKey ? await readCheckpointFile(folder) : [];
  const checkpoints = external.length ? external : publicKey ? await ctx.runtime.audit.checkpoints() : [];
  const v = await ctx.runtime.audit.verify({ checkpoints, publicKey });
  return {
    ...v,
    externalCheckpoints: external.length,
    lastExternalCheckpoint: external.length ? Math.max(...external.map((c) => c.seq)) : null,
    ...(external.length ? {} : { warning: NO_EXTERNAL_CHECKPOINT }),
  };
}

/** The last checkpoint in the external folder (the file names sort by seq), or null. */
async function lastInFolder(folder: string): Promise<SignedCheckpoint | null> {
  const names = (await readdir(folder)).filter((f) => /^checkpoint-\d{12}\.jsonl$/.test(f)).sort();
  const last = names.at(-1);
  if (!last) return null;
  const all = await readCheckpointFile(join(folder, last));
  return all.at(-1) ?? null;
}

/** What the page says about external checkpoints. */
async function checkpointStatus(ctx: ConsoleContext, env: AuditEnv, head: number) {
  const on = Boolean(env.REKEY_AUDIT_CHECKPOINTS && env.REKEY_AUDIT_SIGNING_KEY);
  const stored = await ctx.runtime.store.select<{ seq: number | string; signed_at: unknown }>('SELECT seq, signed_at FROM audit_checkpoints ORDER BY seq DESC, id DESC LIMIT 1');
  const folder = await checkpointFolder(env);
  let external: SignedCheckpoint | null = null;
  let externalProblem: string | undefined;
  if (folder) {
    try {
      external = await lastInFolder(folder);
    } catch (e) {
      externalProblem = `the checkpoint folder cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
  }
  const lastSeq = external?.seq ?? (stored[0] ? Number(stored[0].seq) : null);
  return {
    on,
    off: on ? undefined : CHECKPOINTS_OFF,
    where: env.REKEY_AUDIT_CHECKPOINTS ? (folder ? folder : /^https?:\/\//i.test(env.REKEY_AUDIT_CHECKPOINTS) ? new URL(env.REKEY_AUDIT_CHECKPOINTS).origin + new URL(env.REKEY_AUDIT_CHECKPOINTS).pathname : env.REKEY_AUDIT_CHECKPOINTS) : null,
    cron: env.REKEY_AUDIT_CHECKPOINT_CRON || CHECKPOINT_CRON,
    external,
    externalFile: external ? checkpointName(external.seq) : null,
    externalProblem,
    stored: stored[0] ? { seq: Number(stored[0].seq), signedAt: stored[0].signed_at } : null,
    uncovered: lastSeq === null ? head : Math.max(0, head - lastSeq),
  };
}

/** The page module over the settings in `env` (read when a request needs them). */
export function auditPagesWith(env: AuditEnv): ConsolePages {
  return (app, ctx) => {
    let check: ChainCheck | undefined;

    const page = async (req: FastifyRequest, reply: FastifyReply, extra: { errors?: { text: string; href: string }[]; typed?: Record<string, unknown>; status?: number } = {}) => {
      const head = await ctx.runtime.audit.head();
      const [headRow] = head.seq ? await ctx.runtime.store.select<{ at: unknown }>('SELECT at FROM audit_log WHERE seq = $1', [head.seq]) : [];
      const versions = await listMappingVersionUse(ctx.runtime.store);
      return ctx.render(
        req,
        reply,
        'audit.njk',
        {
          title: 'Audit',
          head: { ...head, at: headRow?.at },
          check,
          checkpoints: await checkpointStatus(ctx, env, head.seq),
          versions: versions.map((v) => ({ ...v, href: `/mappings/${encodeURIComponent(v.version)}` })),
          pipelines: ctx.pipelines.map((p) => p.name),
          signed: Boolean(env.REKEY_AUDIT_SIGNING_KEY),
          started: (req.query as { verify?: string }).verify === 'started',
          errors: extra.errors,
          typed: extra.typed ?? {},
        },
        extra.status ?? 200,
      );
    };

    app.get('/audit', { preHandler: ctx.guard('read') }, async (req, reply) => page(req, reply));

    /** Puts a finished verification on the log as `audit-verified` by its user: the outcome only, never an entry's content or an error's text. */
    const record = async (run: ChainCheck) => {
      const r = run.result;
      const detail = r
        ? { keys: [], ok: r.ok, entries: r.entries, checkpoints: r.checkpoints, externalCheckpoints: r.externalCheckpoints, ...(r.firstBad && { firstBad: { seq: r.firstBad.seq, problem: r.firstBad.problem } }) }
        : { keys: [], ok: null, failed: run.failed?.split(':')[0] ?? 'ERROR' };
      try {
        await ctx.runtime.audit.append([{ pipeline: '*', event: 'audit-verified', actor: run.actor, detail }]);
      } catch (e) {
        ctx.log.error({ user: run.by, code: (e as { code?: string }).code ?? 'ERROR' }, 'console audit verify: the audit-verified entry could not be appended');
      }
    };

    app.post('/audit/verify', { preHandler: [ctx.guard('read'), ctx.csrf] }, async (req, reply) => {
      if (!check || check.finishedAt) {
        const run: ChainCheck = { by: req.consoleUser!.name, actor: ctx.actorOf(req.consoleUser!), startedAt: new Date() };
        check = run;
        void verifyLikeCli(ctx, env)
          .then((result) => (run.result = result))
          .catch((e: unknown) => {
            run.failed = `${(e as { code?: string }).code ?? 'ERROR'}: ${(e as Error).message}`;
          })
          .then(() => record(run))
          .finally(() => {
            run.finishedAt = new Date();
            ctx.log.info({ user: run.by, ok: run.result?.ok, entries: run.result?.entries, failed: run.failed }, 'console audit verify finished');
          });
      }
      return reply.redirect('/audit?verify=started', 303);
    });

    app.get('/submissions/:pipeline/:key/proof', { preHandler: ctx.guard('read') }, async (req, reply) => {
      const { pipeline, key } = req.params as { pipeline: string; key: string };
      const folder = await checkpointFolder(env);
      const external = folder ? await readCheckpointFile(folder) : [];
      let text = '';
      let made: Awaited<ReturnType<typeof ctx.runtime.audit.proveRecorded>>;
      try {
        const lanes = await routesOf(ctx.runtime.store, pipeline);
        made = await ctx.runtime.audit.proveRecorded(pipeline, key, ctx.actorOf(req.consoleUser!), async (t) => void (text = t), { checkpoints: external.length ? external : undefined, lanes });
      } catch (e) {
        if ((e as { code?: string }).code !== PipelineCodes.AUDIT_PROOF_INVALID.code) throw e;
        return ctx.render(req, reply, 'message.njk', { title: 'Nothing to prove', text: 'No audit log entry names this submission.' }, 404);
      }
      if (!made.check.ok) {
        const bad = made.check.firstBad!;
        ctx.log.error({ user: req.consoleUser!.name, pipeline, seq: bad.seq, problem: bad.problem }, 'console audit proof: the audit log is broken');
        return ctx.render(req, reply, 'message.njk', { title: 'No proof: the audit log is broken', text: `The audit log is broken at entry ${bad.seq} (${bad.problem}: ${bad.detail}). Verify the chain on the Audit page.` }, 409);
      }
      ctx.log.info({ user: req.consoleUser!.name, pipeline, entries: made.proof.entries.length, checkpoint: made.proof.checkpoint?.seq ?? null }, 'console audit proof');
      const name = `rekey-proof-${pipeline}-${key.slice(key.lastIndexOf('/') + 1)}.json`.replace(/[^A-Za-z0-9._-]/g, '_');
      return reply.header('content-type', 'application/json; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(text);
    });

    app.get('/audit/export', { preHandler: ctx.guard('read') }, async (req, reply) => {
      const q = req.query as Record<string, unknown>;
      const text = (k: string) => (typeof q[k] === 'string' ? (q[k] as string).trim() : '');
      const [fromText, toText, pipeline] = [text('from'), text('to'), text('pipeline')];
      const errors: { text: string; href: string }[] = [];
      const from = fromText ? (DAY.test(fromText) ? new Date(`${fromText}T00:00:00.000Z`) : null) : undefined;
      const to = toText ? (DAY.test(toText) ? new Date(new Date(`${toText}T00:00:00.000Z`).getTime() + 86_400_000 - 1) : null) : undefined;
      if (from === null || (from && Number.isNaN(from.getTime()))) errors.push({ text: 'Enter the first day as a date, for example 2026-01-31', href: '#export-from' });
      if (to === null || (to && Number.isNaN(to.getTime()))) errors.push({ text: 'Enter the last day as a date, for example 2026-01-31', href: '#export-to' });
      if (from && to && from > to) errors.push({ text: 'The first day must be on or before the last day', href: '#export-from' });
      if (pipeline && !ctx.pipelines.some((p) => p.name === pipeline)) errors.push({ text: 'Choose a pipeline this console serves, or all pipelines', href: '#export-pipeline' });
      if (errors.length) return page(req, reply, { errors, typed: { from: fromText, to: toText, pipeline }, status: 400 });
      const signingKey = env.REKEY_AUDIT_SIGNING_KEY ? await readFile(env.REKEY_AUDIT_SIGNING_KEY, 'utf8') : undefined;
      const filter = { ...(pipeline && { pipeline }) };
      // The header's filter as the CLI writes it (the date range is the header's `range`).
      const describe = { ...filter };
      const name = `rekey-audit-${pipeline || 'all'}-${fromText || 'start'}-to-${toText || 'now'}.jsonl`;
      ctx.log.info({ user: req.consoleUser!.name, ...filter, from: fromText || undefined, to: toText || undefined, signed: Boolean(signingKey) }, 'console audit export');
      const chunks = Readable.from(ctx.runtime.audit.exportRecorded({ from: from ?? undefined, to: to ?? undefined, ...filter, format: 'jsonl', signingKey, describe }, ctx.actorOf(req.consoleUser!)));
      return reply.header('content-type', 'application/x-ndjson; charset=utf-8').header('content-disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"`).send(chunks);
    });
  };
}

/** The audit page over `rekey serve`'s environment. */
export const auditPages: ConsolePages = auditPagesWith(process.env);
