/**
 * The HTTP side of the webhook intake: `POST /intake/<pipeline>` for each
 * webhook pipeline, in a Fastify plugin of its own (its raw-body parser and
 * error answers do not touch the server's other routes). A request is
 * refused as early as possible: shutting down, unsigned or stale before the
 * body is read; too large while it is read; then signature, JSON and schema.
 * What passes goes to the pipeline's admission door, and the 202 is sent
 * only when the door has answered (the submission is durable by then).
 * Bodies are never logged.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdmissionDoor, RouteRegistrar } from '../connector.types.js';
import { IntakeErrors } from '../connector.errors.js';
import { IntakeError } from './intake.errors.js';
import type { WebhookSource } from './webhook.source.js';

/** What the route answers (202) for a recorded submission. */
export interface Accepted {
  key: string;
  /** `accepted`: recorded now; `duplicate`: the same content was already recorded under this key. */
  status: 'accepted' | 'duplicate';
}

/** One pipeline's intake. */
interface Endpoint {
  pipeline: string;
  source: WebhookSource;
  door: AdmissionDoor;
  /** Clock of the replay window. */
  now: () => number;
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

/** The refusal of an error Fastify raised; names Fastify's code, never its message (which may quote what was sent). */
function fromFastify(err: { code?: string; statusCode?: number; message: string }, maxBodyBytes: number | undefined): IntakeError {
  if (err instanceof IntakeError) return err;
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new IntakeError(IntakeErrors.WEBHOOK_TOO_LARGE, `the body is larger than ${maxBodyBytes ?? 'the limit of'} bytes`, maxBodyBytes ? { maxBodyBytes } : {});
  }
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new IntakeError(IntakeErrors.WEBHOOK_CONTENT_TYPE, 'the body must be JSON in UTF-8 (Content-Type: application/json)');
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new IntakeError(IntakeErrors.WEBHOOK_NOT_JSON, `the request could not be read (${err.code ?? `HTTP ${err.statusCode}`})`);
  return new IntakeError(IntakeErrors.WEBHOOK_UNAVAILABLE, 'the submission could not be recorded; nothing was stored, send it again later', {}, 5);
}

const STOPPING = () => new IntakeError(IntakeErrors.WEBHOOK_STOPPING, 'the server is shutting down; send it again later', {}, 5);

async function accept(ep: Endpoint, req: FastifyRequest, body: Record<string, unknown>, id: string): Promise<Accepted> {
  const r = await ep.door.admit(body, `POST /intake/${ep.pipeline} id=${id}`);
  switch (r.status) {
    case 'new':
      return { key: r.key, status: 'accepted' };
    case 'duplicate':
      return { key: r.key, status: 'duplicate' };
    case 'conflict':
      throw new IntakeError(IntakeErrors.WEBHOOK_CONFLICT, `a submission with key "${r.key}" and different content is already recorded; this one is kept aside as a conflict`, { key: r.key });
    case 'busy':
      throw new IntakeError(IntakeErrors.WEBHOOK_BUSY, `more than ${ep.source.settings.maxPending} submissions are waiting to be recorded; nothing was stored, send it again shortly`, {}, 1);
    case 'stopping':
      throw STOPPING();
    case 'unavailable':
      req.log.error({ pipeline: ep.pipeline, requestId: id, err: r.error }, 'the ledger could not record a webhook submission');
      throw new IntakeError(IntakeErrors.WEBHOOK_UNAVAILABLE, 'the submission could not be recorded; nothing was stored, send it again later', {}, 5);
  }
}

function mount(endpoints: ReadonlyMap<string, Endpoint>) {
  return async (scope: FastifyInstance) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.setNotFoundHandler((req, reply) => refuse(req, reply, undefined, new IntakeError(IntakeErrors.WEBHOOK_NOT_FOUND, `no webhook intake at ${req.method} ${req.url.split('?')[0]}`)));
    scope.setErrorHandler((err, req, reply) => {
      const pipeline = (req.routeOptions.config as { pipeline?: string } | undefined)?.pipeline;
      const refusal = fromFastify(err as { code?: string; statusCode?: number; message: string }, pipeline ? endpoints.get(pipeline)?.source.settings.maxBodyBytes : undefined);
      if (refusal.code === IntakeErrors.WEBHOOK_UNAVAILABLE.code) req.log.error({ requestId: requestId(req), pipeline, err }, 'intake failed');
      return refuse(req, reply, pipeline, refusal);
    });
    for (const ep of endpoints.values()) {
      scope.post(
        `/${ep.pipeline}`,
        {
          bodyLimit: ep.source.settings.maxBodyBytes,
          config: { pipeline: ep.pipeline },
          onRequest: async (req, reply) => {
            if (ep.door.closing) return refuse(req, reply, ep.pipeline, STOPPING());
            const early = ep.source.checkHeaders(req.headers, ep.now());
            if (early) return refuse(req, reply, ep.pipeline, early);
            return undefined;
          },
        },
        async (req, reply) => {
          const id = requestId(req);
          const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          const body = ep.source.admit(req.headers, raw);
          if (ep.door.closing) throw STOPPING();
          const done = await accept(ep, req, body, id);
          req.log.debug({ requestId: id, pipeline: ep.pipeline, key: done.key, status: done.status }, 'submission recorded');
          return reply.code(202).header('x-request-id', id).send(done);
        },
      );
    }
  };
}

const mounted = new WeakMap<FastifyInstance, Map<string, Endpoint>>();

/**
 * A route registrar (for the runner's server) adding `POST
 * /intake/<pipeline>` for one webhook pipeline, whose submissions go to
 * `door`. Every webhook pipeline added to one server (before it starts
 * loading its plugins, as the runner adds them all at once) shares one
 * `/intake` plugin, which also answers unknown paths under it
 * (`WEBHOOK_NOT_FOUND`). Answers: 202 `{ key, status }` once the door
 * recorded the submission; otherwise the {@link IntakeError} of the
 * refusal as `{ error: { code, message, requestId, ... } }`, with
 * `Retry-After` on 503. Every answer carries `x-request-id` (the
 * caller's, if it sent a plain one, else a new UUID). `opts.now` is the
 * clock for the replay window (tests).
 */
export function intakeRoute(pipeline: string, source: WebhookSource, door: AdmissionDoor, opts: { now?: () => number } = {}): RouteRegistrar {
  return (app) => {
    let endpoints = mounted.get(app);
    if (!endpoints) {
      endpoints = new Map();
      mounted.set(app, endpoints);
      void app.register(mount(endpoints), { prefix: '/intake' });
    }
    endpoints.set(pipeline, { pipeline, source, door, now: opts.now ?? Date.now });
  };
}
