/**
 * What every console page is given, and who may see what. Pages are
 * registered by modules of runner/console/pages/, each a function of the
 * Fastify app and this context; they read through the same ledger,
 * lookups and story as the CLI (never a second model of the data).
 */
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Logger } from 'pino';
import type { PipelineDef } from '../../pipelines/definition/pipeline.types.js';
import type { Runtime } from '../runtime.js';
import type { Readiness } from '../serve/readiness.js';
import type { Scheduler } from '../serve/scheduler.js';
import type { PipelineSteering } from '../serve/steering.js';
import type { Role } from './users.js';

/** A signed-in user, as pages see them. */
export interface ConsoleUser {
  name: string;
  role: Role;
  /** May open decrypted evidence and the record as sent. */
  evidence: boolean;
  /** How they came in: the sign-in form, the trusted proxy's header, or an API token. */
  via: 'password' | 'proxy' | 'token';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user, when there is one (set before any page's handler). */
    consoleUser?: ConsoleUser;
  }
}

/**
 * What a user may do:
 * - `counts`: pipelines, their states, counts and pass figures (every role);
 * - `read`: submissions, references, reasons, lineage, the audit trail (auditor, operator);
 * - `act`: pause, resume, run now, retry, discard, correct (operator);
 * - `evidence`: decrypted evidence and the record as sent (auditor or operator granted `evidence: true`).
 */
export type Permission = 'counts' | 'read' | 'act' | 'evidence';

/** Whether `user` holds `permission`. */
export function may(user: ConsoleUser | undefined, permission: Permission): boolean {
  if (!user) return false;
  switch (permission) {
    case 'counts':
      return true;
    case 'read':
      return user.role !== 'viewer';
    case 'act':
      return user.role === 'operator';
    case 'evidence':
      return user.role !== 'viewer' && user.evidence;
  }
}

/** A pipeline this `rekey serve` runs. */
export interface ConsolePipeline {
  name: string;
  /** Its pipeline file. */
  file: string;
  def: PipelineDef;
}

/**
 * The console's pipelines for pipeline files `loaded`: each pipeline, then
 * each of its routes' lanes (`P~ROUTE`) as a pipeline of its own (kept,
 * purged and paged like one; the Pipelines list shows a lane under its
 * pipeline's card, not as a card).
 */
export function withLanes(loaded: readonly { file: string; def: PipelineDef }[]): ConsolePipeline[] {
  return loaded.flatMap(({ file, def }) => [def, ...(def.routes ?? []).map((r) => r.def)].map((d) => ({ name: d.pipeline, file, def: d })));
}

/** What a page renders with beside its own data. */
export interface PageData {
  /** The page's `<title>` and main heading. */
  title: string;
  [name: string]: unknown;
}

/** Everything a page module gets. */
export interface ConsoleContext {
  runtime: Runtime;
  /** The pipelines this process runs, in file order. */
  pipelines: readonly ConsolePipeline[];
  scheduler: Scheduler;
  /** Pause, resume and run now of the pipelines this serve runs; without it the console offers none of them. */
  steering?: PipelineSteering;
  /** What `/ready` knows of each pipeline (ready, or degraded and why); without it the pages show no health. */
  readiness?: Pick<Readiness, 'report'>;
  log: Logger;
  /** The audit log's PII hashing key (to check a typed value against a keyed hash, as `rekey audit check` does). */
  piiKey: Buffer;
  /** The audit actor of a console user's action: `console:NAME`. */
  actorOf(user: ConsoleUser): string;
  /** Renders `view` (a file of runner/console/views) with `data`, the user, the navigation and a CSRF token for forms. */
  render(req: FastifyRequest, reply: FastifyReply, view: string, data: PageData, status?: number): Promise<FastifyReply>;
  /** A preHandler that lets through only a signed-in user holding `permission` (else sign-in redirect, 401 or 403). */
  guard(permission: Permission): preHandlerAsyncHookHandler;
  /** A preHandler that checks the CSRF token of a state-changing form (API tokens are exempt: they carry no ambient credential). */
  csrf: preHandlerAsyncHookHandler;
}

/** The actor string of a console user on the audit log. */
export function consoleActor(user: ConsoleUser): string {
  return `console:${user.name}`;
}
