/**
 * How targets name the legacy system they write to, for the audit log
 * (`Target.identity`): places people recognise, never a credential. Pure,
 * but for the working folder `displayPath` shortens paths against.
 */
import { isAbsolute, relative } from 'node:path';
import type { ServerUrl } from './sql/sql.url.js';

const DEFAULT_PORTS: Readonly<Record<ServerUrl['dialect'], number>> = { postgres: 5432, mariadb: 3306, mssql: 1433 };

/** A local path as people read it: relative to the working folder when inside it, else absolute. */
export function displayPath(path: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** A server database as `host:port/database` (the dialect's default port when none is given); never the user or password. */
export function serverSystem(url: ServerUrl): string {
  return `${url.host}:${url.port ?? DEFAULT_PORTS[url.dialect]}${url.database ? `/${url.database}` : ''}`;
}

/** A web address's origin and path, without user, password, query or fragment (which may carry tokens or citizens' data). */
export function urlWithoutSecrets(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '';
  }
}
