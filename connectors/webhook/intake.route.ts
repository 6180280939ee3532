/**
 * The HTTP side of the webhook intake: `POST /intake/<pipeline>` for each
 * webhook pipeline, in a Fastify plugin of its own (its raw-body parser and
 * error answers do not touch the server's other routes). A request is
 * refused as early as possible: shutting down, unsigned or stale before the
 * body is read; too large while it is read; then signature, JSON and schema.
 * What passes goes to the endpoint's `accept`, and the 202 is sent only
 * when `accept` has resolved (the submission is durable by then). Bodies
 * are never logged.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IntakeError } from './intake.errors.js';
import type { WebhookSource } from './webhook.source.js';

/** What `accept` answers for a recorded submission. */
export interface Accepted {
  key: string;
  /** `accepted`: recorded now; `duplicate`: the same content was already recorded under this key. */
  status: 'accepted' | 'duplicate';
}

/** One pipeline's intake. */
export interface IntakeEndpoint {
  pipeline: string;
  source: WebhookSource;
  /**
   * Records an admitted body and resolves once it is durable; throws
   * {@link IntakeError} for a refusal (conflict, busy, unavailable).
   */
  accept(body: Record<string, unknown>, requestId: string): Promise<Accepted>;
}

/** Options of {@link intakeRoutes}. */
export interface IntakeRouteOptions {
  /** True once the server is shutting down: every request then gets 503. */
  isStopping(): boolean;
  /** Clock for the replay window (tests). */
  now?: () => number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ID = Symbol('intakeRequestId');
type Tagged = FastifyRequest & { [ID]?: string };

function requestId(req: FastifyRequest): string {
  const r = req as Tagged;
  if (r[ID] === undefined) {
    const given = req.headers['x-request-id'];
    r[ID] = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  }
  return r[ID];
}

function refuse(req: FastifyRequest, reply: FastifyReply, pipeline: string | undefined, err: IntakeError): FastifyReply {
  const id = requestId(req);
  const level = err.status >= 500 ? 'warn' : 'info';
  req.log[level]({ requestId: id, pipeline, code: err.code, status: err.status }, `intake refused: ${err.message}`);
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
  return reply.code(err.status).header('x-request-id', id).send(err.toBody(id));
}

function fromFastify(err: { code?: string; statusCode?: number; message: string }, maxBodyBytes: number | undefined): IntakeError {
  if (err instanceof IntakeError) return err;
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new IntakeError('WEBHOOK_TOO_LARGE', `the body is larger than ${maxBodyBytes ?? 'the limit of'} bytes`, maxBodyBytes ? { maxBodyBytes } : {});
  }
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new IntakeError('WEBHOOK_CONTENT_TYPE', 'the body must be JSON in UTF-8 (Content-Type: application/json)');
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new IntakeError('WEBHOOK_NOT_JSON', `the request could not be read: ${err.message}`);
  return new IntakeError('WEBHOOK_UNAVAILABLE', 'the submission could not be recorded; nothing was stored, send it again later', {}, 5);
}

/**
 * A route registrar (for `startServer`) adding `POST /intake/<pipeline>` for
 * each endpoint. Answers: 202 `{ key, status }` after `accept` resolved;
 * otherwise the {@link IntakeError} of the refusal as
 * `{ error: { code, message, requestId, ... } }`, with `Retry-After` on
 * 503. Every answer carries `x-request-id` (the caller's, if it sent a
 * plain one, else a new UUID).
 */
export function intakeRoutes(endpoints: readonly IntakeEndpoint[], opts: IntakeRouteOptions): (app: FastifyInstance) => void {
  const now = opts.now ?? Date.now;
  const byPipeline = new Map(endpoints.map((e) => [e.pipeline, e]));
  return (app) => {
    void app.register(
      async (scope) => {
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
        scope.setNotFoundHandler((req, reply) => refuse(req, reply, undefined, new IntakeError('WEBHOOK_NOT_FOUND', `no webhook intake at ${req.method} ${req.url.split('?')[0]}`)));
        scope.setErrorHandler((err, req, reply) => {
          const pipeline = (req.routeOptions.config as { pipeline?: string } | undefined)?.pipeline;
          const refusal = fromFastify(err as { code?: string; statusCode?: number; message: string }, pipeline ? byPipeline.get(pipeline)?.source.settings.maxBodyBytes : undefined);
          if (refusal.code === 'WEBHOOK_UNAVAILABLE') req.log.error({ requestId: requestId(req), pipeline, err }, 'intake failed');
          return refuse(req, reply, pipeline, refusal);
        });
        for (const ep of endpoints) {
          scope.post(
            `/${ep.pipeline}`,
            {
              bodyLimit: ep.source.settings.maxBodyBytes,
              config: { pipeline: ep.pipeline },
              onRequest: async (req, reply) => {
                if (opts.isStopping()) return refuse(req, reply, ep.pipeline, new IntakeError('WEBHOOK_STOPPING', 'the server is shutting down; send it again later', {}, 5));
                const early = ep.source.checkHeaders(req.headers, now());
                if (early) return refuse(req, reply, ep.pipeline, early);
                return undefined;
              },
            },
            async (req, reply) => {
              const id = requestId(req);
              const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
              const body = ep.source.admit(req.headers, raw);
              if (opts.isStopping()) throw new IntakeError('WEBHOOK_STOPPING', 'the server is shutting down; send it again later', {}, 5);
              const done = await ep.accept(body, id);
              req.log.debug({ requestId: id, pipeline: ep.pipeline, key: done.key, status: done.status }, 'submission recorded');
              return reply.code(202).header('x-request-id', id).send(done);
            },
          );
        }
      },
      { prefix: '/intake' },
    );
  };
}
