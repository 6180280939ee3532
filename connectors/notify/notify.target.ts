/**
 * Target `notify`: sends each mapped record as one email or text message
 * from a GOV.UK Notify template, through Notify's HTTP API (notify.api.ts).
 * The Notify notification ID is the legacy reference. Exactly once: the
 * submission key goes to Notify as the message's `reference`, and before a
 * record that may have reached Notify already (uncertain in the ledger, or
 * an earlier attempt of this target that got no clear answer, remembered in
 * the connector state) is sent, it is looked up by that reference; a
 * message found is the delivery. 5xx, 429, timeouts and connection errors
 * are retried; any other 4xx rejects the record; an AuthError stops the
 * pipeline. Recipients and personalisation values never appear in a
 * message or a log line.
 */
import type { ConnectorDef, ConnectorEnv, ConnectorError, Ctx, MappedRecord, Outcome, Target, TargetIdentity } from '../connector.types.js';
import { jsonSchema } from '../config.schema.js';
import { ConnectorFailure, connectorError, NotifyErrors } from '../connector.errors.js';
import { NotifyApi, parseApiKey, type ApiAnswer, type NotifyErrorItem, type SendRequest } from './notify.api.js';
import { checkNotifyConfig, NOTIFY_DEFAULTS, notifyConfigSchema, type NotifyConfig } from './notify.config.js';

const NOUN = { email: 'email', sms: 'text message' } as const;

/** Sends mapped records through GOV.UK Notify; see {@link NotifyConfig}. */
export class NotifyTarget implements Target {
  private readonly api: NotifyApi;
  private readonly attempted = new Set<string>();
  private readonly concurrency: number;
  private warnedNoReference = false;

  /** Checks the config (and its fields against the mapping, where known); throws an Error with `problems` listing each. */
  constructor(
    private readonly config: NotifyConfig,
    env: ConnectorEnv,
    now?: () => Date,
  ) {
    const problems = checkNotifyConfig(config, env.mapping?.fields.map((f) => f.name));
    if (problems.length) throw Object.assign(new ConnectorFailure(NotifyErrors.CONFIG, problems.join('; ')), { problems });
    this.api = new NotifyApi(config.baseUrl ?? NOTIFY_DEFAULTS.baseUrl, parseApiKey(config.apiKey), config.timeoutMs ?? NOTIFY_DEFAULTS.timeoutMs, now);
    this.concurrency = config.concurrency ?? NOTIFY_DEFAULTS.concurrency;
  }

  /** `notify`, the API's host and the template ID; never the key. */
  identity(): TargetIdentity {
    return { kind: 'notify', system: new URL(this.config.baseUrl ?? NOTIFY_DEFAULTS.baseUrl).host, object: this.config.templateId };
  }

  /** Nothing to open: every request carries its own token. */
  async connect(): Promise<void> {}

  /**
   * Sends each record (up to `concurrency` at once) and answers for each:
   * `delivered` with the notification ID (`alreadyPresent` when found by
   * reference), `rejected` for a 4xx or an empty recipient, `failed`
   * (retry) for a 5xx, 429 or no answer. Throws `NOTIFY_AUTH` (fatal) when
   * Notify refuses the key.
   */
  async deliver(batch: MappedRecord[], ctx: Ctx): Promise<Outcome[]> {
    const out: Outcome[] = new Array<Outcome>(batch.length);
    let next = 0;
    const worker = async () => {
      while (next < batch.length) {
        const i = next++;
        out[i] = await this.sendOne(batch[i]!, ctx);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, batch.length) }, worker));
    return out;
  }

  private async sendOne(r: MappedRecord, ctx: Ctx): Promise<Outcome> {
    const cfg = this.config;
    const log = ctx.log.child({ key: r.key, attempt: ctx.attempt });
    const to = text(r.record[cfg.to]);
    if (!to) return { key: r.key, status: 'rejected', error: connectorError(NotifyErrors.NO_RECIPIENT, `${cfg.to}: empty, so there is no ${cfg.type === 'email' ? 'email address' : 'phone number'} to send to`, cfg.to) };
    const useReference = cfg.reference ?? NOTIFY_DEFAULTS.reference;
    if (r.uncertain || (await this.wasAttempted(r.key, ctx))) {
      if (useReference) {
        const found = await this.api.findByReference(r.key, cfg.type, ctx.signal);
        if (found.kind !== 'ok') return this.failure(r, found, 'looking it up by reference', log);
        const mine = found.body.filter((n) => n.template.id.toLowerCase() === cfg.templateId.toLowerCase());
        log.info({ found: mine.length > 0 }, 'looked the record up in Notify by reference after an uncertain attempt');
        if (mine.length) {
          await this.forget(r.key, ctx);
          return { key: r.key, status: 'delivered', legacyRef: mine.at(-1)!.id, alreadyPresent: true };
        }
      } else if (!this.warnedNoReference) {
        this.warnedNoReference = true;
        log.warn('reference is off: a record whose earlier attempt may have reached Notify is sent again');
      }
    }
    const body: SendRequest = { template_id: cfg.templateId, ...(cfg.type === 'email' ? { email_address: to } : { phone_number: to }) };
    const personalisation = this.personalisation(r);
    if (Object.keys(personalisation).length) body.personalisation = personalisation as Record<string, string>;
    if (useReference) body.reference = r.key;
    if (cfg.emailReplyToId) body.email_reply_to_id = cfg.emailReplyToId;
    if (cfg.smsSenderId) body.sms_sender_id = cfg.smsSenderId;
    await this.remember(r.key, ctx);
    const answer = await this.api.send(cfg.type, body, ctx.signal);
    if (answer.kind === 'ok') {
      await this.forget(r.key, ctx);
      return { key: r.key, status: 'delivered', legacyRef: answer.body.id };
    }
    return this.failure(r, answer, `sending the ${NOUN[cfg.type]}`, log, ctx);
  }

  /** The outcome of an answer that is not a success; throws for an AuthError. `ctx`: given for a send, whose attempt is forgotten when Notify surely stored nothing. */
  private async failure(r: MappedRecord, answer: Exclude<ApiAnswer<unknown>, { kind: 'ok' }>, doing: string, log: Ctx['log'], ctx?: Ctx): Promise<Outcome> {
    if (answer.kind === 'no-answer') {
      log.warn({ code: NotifyErrors.UNAVAILABLE.code, reason: answer.reason }, `no answer from Notify ${doing}`);
      const message = `no answer from Notify ${doing} (${answer.reason}: ${answer.detail}); the next attempt looks it up by reference first`;
      return { key: r.key, status: 'failed', error: connectorError(NotifyErrors.UNAVAILABLE, message) };
    }
    const said = this.said(answer.status, answer.errors, r);
    log.warn({ status: answer.status, notifyErrors: answer.errors.map((e) => e.error) }, `Notify answered ${answer.status} ${doing}`);
    if (answer.status === 401 || answer.status === 403) {
      if (ctx) await this.forget(r.key, ctx);
      throw new ConnectorFailure(NotifyErrors.AUTH, `Notify refused the API key ${doing}: ${said}`);
    }
    if (answer.status === 429 || answer.status >= 500) {
      return { key: r.key, status: 'failed', error: connectorError(NotifyErrors.UNAVAILABLE, `Notify answered ${doing}: ${said}`) };
    }
    if (!ctx) return { key: r.key, status: 'failed', error: connectorError(NotifyErrors.UNAVAILABLE, `Notify refused ${doing}: ${said}`) };
    await this.forget(r.key, ctx);
    const field = this.fieldOf(answer.errors);
    const error: ConnectorError = connectorError(NotifyErrors.REJECTED, `${field ? `${field}: ` : ''}Notify refused the ${NOUN[this.config.type]}: ${said}`, field);
    return { key: r.key, status: 'rejected', error };
  }

  /** `400 ValidationError: email_address Not a valid email address`, each value of the record masked as `[FIELD]`. */
  private said(status: number, errors: readonly NotifyErrorItem[], r: MappedRecord): string {
    return `${status} ${errors.map((e) => `${e.error}: ${this.mask(e.message, r)}`).join('; ')}`;
  }

  /** The mapped field Notify's errors are about: the recipient's, or the one a missing placeholder comes from. */
  private fieldOf(errors: readonly NotifyErrorItem[]): string | undefined {
    const m = errors.map((e) => e.message).join(' ');
    if (/\b(email_address|phone_number)\b/.test(m) || /recipient/i.test(m)) return this.config.to;
    const missing = /Missing personalisation: ([^\n]+)/.exec(m)?.[1]?.split(',').map((s) => s.trim());
    const fields = missing?.map((p) => this.config.personalisation?.[p]).filter((f): f is string => f !== undefined) ?? [];
    return fields.length === 1 ? fields[0] : undefined;
  }

  private personalisation(r: MappedRecord): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [name, field] of Object.entries(this.config.personalisation ?? {})) {
      const v = r.record[field];
      out[name] = Array.isArray(v) ? v.map((x) => text(x)) : text(v);
    }
    return out;
  }

  private mask(message: string, r: MappedRecord): string {
    const fields = [this.config.to, ...Object.values(this.config.personalisation ?? {})];
    let out = message;
    for (const f of fields) {
      const values = [r.record[f]].flat().map((v) => text(v)).filter((v) => v.length >= 2);
      for (const v of values) out = out.split(v).join(`[${f}]`);
    }
    return out;
  }

  private markOf(key: string): string {
    return `attempted:${this.config.templateId}:${key}`;
  }

  private async wasAttempted(key: string, ctx: Ctx): Promise<boolean> {
    return this.attempted.has(key) || (ctx.state ? (await ctx.state.get(this.markOf(key))) !== undefined : false);
  }

  private async remember(key: string, ctx: Ctx): Promise<void> {
    this.attempted.add(key);
    await ctx.state?.set(this.markOf(key), new Date().toISOString());
  }

  private async forget(key: string, ctx: Ctx): Promise<void> {
    this.attempted.delete(key);
    await ctx.state?.delete(this.markOf(key));
  }

  async close(): Promise<void> {}
}

/** A record value as Notify's text: empty for null and undefined. */
function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The `notify` target's declaration. */
export const notifyTarget: ConnectorDef<NotifyConfig, Target> = {
  name: 'notify',
  kind: 'target',
  doc: "Sends each mapped record as an email or text message from a GOV.UK Notify template (recipient and personalisation from mapped fields); the notification ID is the legacy reference; 5xx, 429 and timeouts are retried after a look-up by reference, other 4xx reject the record.",
  configSchema: jsonSchema(notifyConfigSchema),
  create: (config, env) => new NotifyTarget(config, env),
};
