/**
 * Database URLs of the `sql` target: which dialect a URL names and its
 * parts for Sequelize (lib/redact takes a URL's password out of text
 * that is shown). Pure.
 */

/** The databases the `sql` target reaches. */
export type SqlDialectName = 'postgres' | 'mariadb' | 'mssql' | 'sqlite';

/** A server database URL, taken apart. */
export interface ServerUrl {
  dialect: Exclude<SqlDialectName, 'sqlite'>;
  host: string;
  port?: number;
  username?: string;
  password?: string;
  database?: string;
  /** Query-string options (`?ssl=true`), as given. */
  options: Record<string, string>;
}

/** What a URL names: a server database, or a SQLite file. */
export type ParsedSqlUrl = ServerUrl | { dialect: 'sqlite'; path: string };

const SCHEMES: Readonly<Record<string, ServerUrl['dialect']>> = {
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mariadb:': 'mariadb',
  'mysql:': 'mariadb',
  'mssql:': 'mssql',
  'sqlserver:': 'mssql',
};

/**
 * Takes `url` apart: `postgres://`, `postgresql://`, `mariadb://`,
 * `mysql://` (through the mariadb driver), `mssql://` or `sqlserver://`, or
 * `sqlite:PATH` / a plain path for SQLite. Throws an Error whose message
 * never holds the URL for anything else.
 */
export function parseSqlUrl(url: string): ParsedSqlUrl {
  if (url.startsWith('sqlite:')) return { dialect: 'sqlite', path: url.slice('sqlite:'.length).replace(/^\/\/(?=\/|\.)/, '') };
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return { dialect: 'sqlite', path: url };
  const dialect = SCHEMES[scheme];
  if (!dialect) throw new Error(`unknown database URL scheme "${scheme}//": use postgres://, mariadb://, mysql://, mssql:// or sqlite:`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`the ${scheme}// database URL cannot be read`);
  }
  const out: ServerUrl = { dialect, host: decodeURIComponent(u.hostname) || '127.0.0.1', options: Object.fromEntries(u.searchParams) };
  if (u.port) out.port = Number(u.port);
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (db) out.database = db;
  return out;
}
