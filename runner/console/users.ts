/**
 * Who may use the console: the users file a deployer writes (YAML), read
 * once when `rekey serve` starts. Three ways in, each naming a user of the
 * file and so a role:
 *   - `users`: name, role, scrypt password hash (see passwords.ts), and
 *     `evidence: true` for those allowed to open decrypted evidence;
 *   - `tokens`: API tokens for automation, kept as SHA-256 hashes
 *     (`rekey console token NAME` makes one);
 *   - `proxy`: a trusted reverse proxy's header carrying the signed-in user
 *     (single sign-on), believed only from the listed proxy addresses.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parse } from 'yaml';
import { ConsoleError, ConsoleErrors } from './console.errors.js';
import { hashProblem } from './passwords.js';

/** What a user may do: viewer (counts and states only), auditor (reads everything, changes nothing), operator (also acts). */
export type Role = 'viewer' | 'auditor' | 'operator';

/** Every role, least first. */
export const ROLES: readonly Role[] = ['viewer', 'auditor', 'operator'];

/** A person of the users file. */
export interface UserEntry {
  name: string;
  role: Role;
  /** scrypt hash; absent for a user who signs in through the proxy only. */
  password?: string;
  /** May open decrypted evidence and the record as sent (never a viewer). */
  evidence: boolean;
}

/** An API token of the users file, by the SHA-256 of the token. */
export interface TokenEntry {
  name: string;
  role: Role;
  evidence: boolean;
  sha256: string;
}

/** A trusted reverse proxy that signs users in. */
export interface ProxyAuth {
  /** Request header holding the user name, lower case (as Node gives headers). */
  header: string;
  /** Socket addresses the header is believed from. */
  trusted: readonly string[];
}

/** The users file, checked. */
export interface ConsoleUsers {
  users: ReadonlyMap<string, UserEntry>;
  tokens: ReadonlyMap<string, TokenEntry>;
  proxy?: ProxyAuth;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$/;
const HEADER = /^[A-Za-z0-9-]{1,100}$/;
const TOKEN_HASH = /^sha256:[0-9a-f]{64}$/;

/** SHA-256 of an API token, hex: what the users file keeps. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function bad(file: string, where: string, problem: string): ConsoleError {
  return new ConsoleError(ConsoleErrors.CONSOLE_USERS_INVALID, `${file}: ${where} ${problem}`);
}

function entries(file: string, doc: Record<string, unknown>, key: string): Record<string, unknown>[] {
  const list = doc[key] ?? [];
  if (!Array.isArray(list)) throw bad(file, key, 'must be a list');
  return list.map((e, i) => {
    if (!e || typeof e !== 'object' || Array.isArray(e)) throw bad(file, `${key}[${i}]`, 'must be a mapping');
    return e as Record<string, unknown>;
  });
}

function common(file: string, where: string, e: Record<string, unknown>, allowed: readonly string[]): { name: string; role: Role; evidence: boolean } {
  for (const k of Object.keys(e)) if (!allowed.includes(k)) throw bad(file, where, `has an unknown key ${JSON.stringify(k)} (known: ${allowed.join(', ')})`);
  const { name, role, evidence = false } = e;
  if (typeof name !== 'string' || !NAME.test(name)) throw bad(file, where, 'needs a name: letters, digits, . _ @ -, at most 200');
  if (!ROLES.includes(role as Role)) throw bad(file, `${where} (${name})`, `has role ${JSON.stringify(role)}; it must be one of ${ROLES.join(', ')}`);
  if (typeof evidence !== 'boolean') throw bad(file, `${where} (${name})`, 'evidence must be true or false');
  if (evidence && role === 'viewer') throw bad(file, `${where} (${name})`, 'is a viewer: viewers see no citizen data, so evidence cannot be granted');
  return { name, role: role as Role, evidence };
}

/** Checks a parsed users file; `file` names it in errors. */
export function checkUsers(file: string, doc: unknown): ConsoleUsers {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw bad(file, 'the file', 'must be a mapping with users, tokens and proxy');
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) if (!['users', 'tokens', 'proxy'].includes(k)) throw bad(file, 'the file', `has an unknown key ${JSON.stringify(k)} (known: users, tokens, proxy)`);
  const users = new Map<string, UserEntry>();
  entries(file, top, 'users').forEach((e, i) => {
    const where = `users[${i}]`;
    const c = common(file, where, e, ['name', 'role', 'password', 'evidence']);
    if (users.has(c.name)) throw bad(file, `${where} (${c.name})`, 'names a user listed before');
    const { password } = e;
    if (password !== undefined) {
      const problem = typeof password === 'string' ? hashProblem(password) : 'must be a string';
      if (problem) throw bad(file, `${where} (${c.name})`, `password ${problem}`);
    }
    users.set(c.name, { ...c, ...(typeof password === 'string' && { password }) });
  });
  const tokens = new Map<string, TokenEntry>();
  entries(file, top, 'tokens').forEach((e, i) => {
    const where = `tokens[${i}]`;
    const c = common(file, where, e, ['name', 'role', 'hash', 'evidence']);
    if (typeof e.hash !== 'string' || !TOKEN_HASH.test(e.hash)) throw bad(file, `${where} (${c.name})`, 'needs hash: sha256:<64 hex digits> (make one with `rekey console token NAME`)');
    const sha256 = e.hash.slice('sha256:'.length);
    if (tokens.has(sha256)) throw bad(file, `${where} (${c.name})`, 'has the hash of a token listed before');
    tokens.set(sha256, { ...c, sha256 });
  });
  let proxy: ProxyAuth | undefined;
  if (top.proxy !== undefined) {
    const p = top.proxy as Record<string, unknown>;
    if (!p || typeof p !== 'object' || Array.isArray(p)) throw bad(file, 'proxy', 'must be a mapping with header and trusted');
    for (const k of Object.keys(p)) if (!['header', 'trusted'].includes(k)) throw bad(file, 'proxy', `has an unknown key ${JSON.stringify(k)} (known: header, trusted)`);
    if (typeof p.header !== 'string' || !HEADER.test(p.header)) throw bad(file, 'proxy.header', 'must be a header name such as X-Forwarded-User');
    const trusted = p.trusted;
    if (!Array.isArray(trusted) || trusted.length === 0 || trusted.some((a) => typeof a !== 'string' || isIP(a) === 0)) {
      throw bad(file, 'proxy.trusted', 'must list the IP addresses of the proxy (the header is believed from those only)');
    }
    proxy = { header: p.header.toLowerCase(), trusted: trusted as string[] };
  }
  if (users.size === 0 && tokens.size === 0) throw bad(file, 'the file', 'lists no users and no tokens: nobody could use the console');
  return { users, tokens, ...(proxy && { proxy }) };
}

/** Reads and checks the users file at `file`. */
export async function loadUsers(file: string): Promise<ConsoleUsers> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw bad(file, 'the file', `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw bad(file, 'the file', `is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return checkUsers(file, doc);
}
