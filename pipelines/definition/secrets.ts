/**
 * Secrets in connector configs. A pipeline file never holds a secret: a
 * value is written `{ env: NAME }` or `{ file: path }`. Loading a file
 * finds the references and refuses secrets written in clear, never echoing
 * them; {@link resolveSecrets} reads the values when the pipeline starts.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Problem } from '../../lib/problem.js';
import { pathLabel, type DocPath, type YamlSource } from '../../lib/yaml-source.js';
import type { PipelineDef, SecretRef, SecretSource } from './pipeline.types.js';

/** Config keys whose values are secrets (also as suffixes: `clientSecret`, `dbPassword`, `accessToken`). */
export const SECRET_KEY = /(password|passwd|passphrase|secret|token|apikey|privatekey|authorization)$/i;

/** Environment variable names a `{ env: NAME }` may use. */
export const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

/** The message for a secret written in clear. */
export const SECRET_IN_CLEAR = 'put secrets in the environment: { env: NAME } (or in a file: { file: path })';

/** A JSON Schema that accepts a secret reference, for string values of connector configs. */
export const secretRefSchema = {
  type: 'object',
  description: 'Read when the pipeline starts: { env: NAME } from the environment, or { file: path } (relative to the pipeline file).',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    env: { type: 'string', pattern: ENV_NAME, description: 'Environment variable holding the value.' },
    file: { type: 'string', minLength: 1, description: 'File holding the value (one trailing newline is dropped).' },
  },
} as const;

/** A URL carrying a password (`scheme://user:password@host`). */
const URL_WITH_PASSWORD = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@\s:]*:[^/?#@\s]+@/;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const envName = new RegExp(ENV_NAME);

/** The secret reference `value` is, or undefined: exactly `{ env: NAME }` or `{ file: path }`. */
export function secretSourceOf(value: unknown): SecretSource | undefined {
  if (!isObj(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  if (typeof value.env === 'string' && envName.test(value.env)) return { env: value.env };
  if (typeof value.file === 'string' && value.file.length > 0) return { file: value.file };
  return undefined;
}

/** True for a document path under `source.config` or `target.config` (also a route's, `routes.N.target.config`) whose key names a secret, or at or under an alert webhook's `url`. */
export function isSecretPath(path: DocPath): boolean {
  if (path[0] === 'routes' && typeof path[1] === 'number') return isSecretPath(path.slice(2));
  if (path[0] === 'alerts') return path[1] === 'webhooks' && path[3] === 'url';
  return (path[0] === 'source' || path[0] === 'target') && path[1] === 'config' && path.slice(2).some((k) => typeof k === 'string' && SECRET_KEY.test(k));
}

/**
 * The reference of each alert webhook's `url` in `alerts` (as written),
 * located in `src`. A URL written in clear, or anything else but a
 * reference, is reported on `src` without the value.
 */
export function findAlertSecrets(src: YamlSource, alerts: unknown): SecretRef[] {
  const hooks = isObj(alerts) && Array.isArray(alerts.webhooks) ? alerts.webhooks : [];
  const refs: SecretRef[] = [];
  hooks.forEach((hook, i) => {
    if (!isObj(hook) || !('url' in hook)) return;
    const path = ['webhooks', i, 'url'];
    const at: DocPath = ['alerts', ...path];
    const from = secretSourceOf(hook.url);
    if (from) refs.push({ side: 'alerts', path, from, pos: src.pos(at) });
    else if (typeof hook.url === 'string') src.report(at, `an alert webhook URL is a secret written in the file (an incoming-webhook URL lets anyone post): ${SECRET_IN_CLEAR}`);
    else src.report(at, '"url" must be { env: NAME } or { file: path }');
  });
  return refs;
}

/**
 * Every secret reference in `config` (the `side` connector's, at `base`:
 * a route's target is at `routes.N`), located in `src`. A secret-named key holding anything but a reference, and a URL
 * with a password in it anywhere, are reported on `src` without the value.
 */
export function findSecrets(src: YamlSource, side: 'source' | 'target', config: unknown, base: DocPath = []): SecretRef[] {
  const refs: SecretRef[] = [];
  const walk = (value: unknown, path: (string | number)[]): void => {
    const at: DocPath = [...base, side, 'config', ...path];
    const from = secretSourceOf(value);
    if (from) {
      refs.push({ side, path, from, pos: src.pos(at) });
      return;
    }
    const key = path[path.length - 1];
    if (typeof key === 'string' && SECRET_KEY.test(key) && value !== null && value !== undefined) {
      const label = `"${key}"`;
      src.report(at, typeof value === 'string' ? `${label} is a secret written in the file: ${SECRET_IN_CLEAR}` : `${label} must be { env: NAME } or { file: path }`);
      return;
    }
    if (typeof value === 'string' && URL_WITH_PASSWORD.test(value)) {
      src.report(at, `${typeof key === 'string' ? `"${key}"` : 'this value'} is a URL with a password written in the file: ${SECRET_IN_CLEAR}`);
      return;
    }
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
    else if (isObj(value)) for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
  };
  if (isObj(config)) for (const [k, v] of Object.entries(config)) walk(v, [k]);
  return refs;
}

/** Connector configs and `alerts` with every `{ env }` / `{ file }` replaced by its value. */
export interface ResolvedSecrets {
  source: Record<string, unknown>;
  target: Record<string, unknown>;
  /** `alerts` as written (empty when absent), each webhook `url` resolved to a string where it could be. */
  alerts: Record<string, unknown>;
  /** The values put in, for log redaction. */
  secrets: string[];
  /** The references that could not be resolved. */
  missing: SecretRef[];
  /** One per reference that could not be resolved, at the reference; never containing a value. */
  problems: Problem[];
}

const readText = (path: string) => readFile(path, 'utf8');

function setAt(root: Record<string, unknown>, path: (string | number)[], value: string): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = value;
}

/**
 * Reads each secret reference of `def` from `env` (default `process.env`)
 * or through `read` (files relative to the pipeline file, one trailing
 * newline dropped) and returns copies of the configs with the values in.
 * An unset or empty variable and an unreadable or empty file are problems
 * located at the reference.
 */
export async function resolveSecrets(
  def: PipelineDef,
  env: Record<string, string | undefined> = process.env,
  read: (path: string) => Promise<string> = readText,
): Promise<ResolvedSecrets> {
  const alerts = structuredClone(def.alerts ?? {}) as Record<string, unknown>;
  const out: ResolvedSecrets = { source: structuredClone(def.source.config), target: structuredClone(def.target.config), alerts, secrets: [], missing: [], problems: [] };
  const problem = (ref: SecretRef, message: string) => {
    out.missing.push(ref);
    const at = ref.side === 'alerts' ? ['alerts', ...ref.path] : [ref.side, 'config', ...ref.path];
    out.problems.push({ file: ref.pos.file, line: ref.pos.line, col: ref.pos.col, path: pathLabel(at), message });
  };
  for (const ref of def.secrets) {
    let value: string | undefined;
    if ('env' in ref.from) {
      value = env[ref.from.env];
      if (value === undefined) problem(ref, `environment variable ${ref.from.env} is not set`);
      else if (value === '') problem(ref, `environment variable ${ref.from.env} is empty`);
    } else {
      const path = resolve(dirname(def.file), ref.from.file);
      try {
        value = (await read(path)).replace(/\r?\n$/, '');
        if (value === '') problem(ref, `secret file "${ref.from.file}" is empty`);
      } catch (e) {
        problem(ref, `cannot read secret file "${ref.from.file}": ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
      }
    }
    if (!value) continue;
    setAt(out[ref.side], ref.path, value);
    if (!out.secrets.includes(value)) out.secrets.push(value);
  }
  return out;
}
