/**
 * GOV.UK Notify's documented HTTP API, the part the `notify` target uses:
 * POST /v2/notifications/email and /v2/notifications/sms, and GET
 * /v2/notifications?reference=... to find a message again. Every request
 * carries a fresh JWT (HS256, `iss` the service ID, `iat` now) signed with
 * the API key's secret (jose). Answers come back as data, never thrown:
 * what Notify said (status and its `errors`), or that no answer came
 * (timeout, connection), so the target can tell a refusal from a failure
 * that may have reached Notify. Neither the key nor a request's body ever
 * appears in what this module returns.
 */

/** The two halves of a Notify API key (`{name}-{service id}-{secret key}`). */
export interface NotifyKey {
  serviceId: string;
  secret: string;
}

/** Splits an API key: its last 36 characters are the secret key, the 36 before the hyphen the service ID. */
export function parseApiKey(apiKey: string): NotifyKey {
  const key = apiKey.trim();
  return { serviceId: key.slice(-73, -37), secret: key.slice(-36) };
}

/**
 * A bearer token for one request: HS256, header `{alg, typ}`, claims `iss`
 * (service ID) and `iat` (`now`, seconds). jose is loaded on the first
 * token, not when rekey starts: most pipelines never send to Notify, and
 * its 46 modules cost every `rekey` process about 0.1 s of CPU.
 */
export async function notifyToken(key: NotifyKey, now: Date = new Date()): Promise<string> {
  const { SignJWT } = await import('jose');
  return new SignJWT({ iss: key.serviceId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .sign(new TextEncoder().encode(key.secret));
}

/** One entry of Notify's `errors`: its error class (`BadRequestError`, `ValidationError`, `AuthError`, ...) and message. */
export interface NotifyErrorItem {
  error: string;
  message: string;
}

/** What a request came to: Notify's JSON answer with its status, or no answer at all (`timeout`, `connection`: it may have reached Notify). */
export type ApiAnswer<T> =
  | { kind: 'ok'; status: number; body: T }
  | { kind: 'error'; status: number; errors: NotifyErrorItem[] }
  | { kind: 'no-answer'; reason: 'timeout' | 'connection'; detail: string };

/** What Notify answers to a send: the notification's ID, among others. */
export interface SentNotification {
  id: string;
  reference: string | null;
  template: { id: string; version: number; uri: string };
  uri: string;
}

/** One notification as GET /v2/notifications lists it (the fields the target reads). */
export interface ListedNotification {
  id: string;
  reference: string | null;
  type: string;
  status: string;
  template: { id: string; version: number; uri: string };
  created_at: string;
}

/** The body of a send (Notify's names). */
export interface SendRequest {
  template_id: string;
  email_address?: string;
  phone_number?: string;
  personalisation?: Record<string, string>;
  reference?: string;
  email_reply_to_id?: string;
  sms_sender_id?: string;
}

/** A Notify API at `baseUrl` used with one key; each request gives up after `timeoutMs` or when `signal` aborts. */
export class NotifyApi {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly key: NotifyKey,
    private readonly timeoutMs: number,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  /** Sends one email or text message. */
  send(type: 'email' | 'sms', body: SendRequest, signal?: AbortSignal): Promise<ApiAnswer<SentNotification>> {
    return this.request<SentNotification>('POST', `/v2/notifications/${type}`, body, signal);
  }

  /**
   * The notifications of `type` sent with `reference` that Notify still
   * holds (it keeps them for its data retention period, 7 days by
   * default), following `links.next` pages.
   */
  async findByReference(reference: string, type: 'email' | 'sms', signal?: AbortSignal): Promise<ApiAnswer<ListedNotification[]>> {
    const found: ListedNotification[] = [];
    let olderThan: string | undefined;
    for (;;) {
      const q = new URLSearchParams({ template_type: type, reference });
      if (olderThan) q.set('older_than', olderThan);
      const page = await this.request<{ notifications: ListedNotification[]; links: { next?: string } }>('GET', `/v2/notifications?${q}`, undefined, signal);
      if (page.kind !== 'ok') return page;
      found.push(...page.body.notifications);
      const last = page.body.notifications.at(-1);
      if (!page.body.links.next || !last) return { kind: 'ok', status: page.status, body: found };
      olderThan = last.id;
    }
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal): Promise<ApiAnswer<T>> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const headers: Record<string, string> = { authorization: `Bearer ${await notifyToken(this.key, this.now())}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await res.text();
    } catch (e) {
      const timedOut = timeout.aborted || (e as { name?: string }).name === 'TimeoutError';
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      return { kind: 'no-answer', reason: timedOut ? 'timeout' : 'connection', detail: timedOut ? `no answer within ${this.timeoutMs} ms` : (cause?.code ?? cause?.message ?? (e as Error).name) };
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok && json !== undefined) return { kind: 'ok', status: res.status, body: json as T };
    const errors = (json as { errors?: unknown } | undefined)?.errors;
    const items = Array.isArray(errors)
      ? errors.filter((x): x is NotifyErrorItem => typeof x?.error === 'string' && typeof x?.message === 'string').map((x) => ({ error: x.error, message: x.message }))
      : [];
    return { kind: 'error', status: res.status, errors: items.length ? items : [{ error: res.ok ? 'UnreadableAnswer' : `HTTP${res.status}`, message: res.ok ? 'the answer is not JSON' : res.statusText || 'no error body' }] };
  }
}
