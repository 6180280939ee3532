import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConnectorEnv, Target } from './connector.types.js';
import { TARGETS } from './registry.js';
import { displayPath, urlWithoutSecrets } from './target-identity.js';

const env: ConnectorEnv = { baseDir: '/srv/rekey/pipelines', pipeline: 'coa' };
const make = (kind: string, config: Record<string, unknown>): Target => TARGETS.get(kind)!.create(config, env);
const LAYOUT = { kind: 'csv', columns: ['REF'] };

describe('a target names the system it writes to, never a credential', () => {
  it('SQL servers: dialect, host:port/database and table, without the user or password in the URL', () => {
    const pg = make('sql', { url: 'postgres://clerk:S3cr3t-pw@db.internal:6543/dvla?ssl=true', table: 'DRV_ADDR_CHG', keyColumn: 'SUBMISSION_KEY' });
    expect(pg.identity!()).toEqual({ kind: 'postgres', system: 'db.internal:6543/dvla', object: 'DRV_ADDR_CHG' });
    expect(JSON.stringify(pg.identity!())).not.toMatch(/clerk|S3cr3t|ssl/);
    const ms = make('sql', { url: 'mssql://sa:Pa55word!@legacy-sql/CASES', table: 'dbo.CASES', keyColumn: 'K' });
    expect(ms.identity!()).toEqual({ kind: 'mssql', system: 'legacy-sql:1433/CASES', object: 'dbo.CASES' });
    const proc = make('sql', {
      url: 'mariadb://u:p@maria:3307/legacy',
      table: 'CASES',
      keyColumn: 'K',
      mode: 'procedure',
      procedure: { name: 'add_case', params: [{ name: 'p_key', from: '$key', type: 'varchar(64)' }] },
    });
    expect(proc.identity!()).toEqual({ kind: 'mariadb', system: 'maria:3307/legacy', object: 'add_case' });
  });

  it('SQLite (kind sqlite, or a sqlite: URL): the database file and table', () => {
    const file = make('sqlite', { path: '../legacy.sqlite', table: 'DRV_ADDR_CHG', keyColumn: 'SUBMISSION_KEY' });
    expect(file.identity!()).toEqual({ kind: 'sqlite', system: displayPath('/srv/rekey/legacy.sqlite'), object: 'DRV_ADDR_CHG' });
    const url = make('sql', { url: 'sqlite:../legacy.sqlite', table: 'T', keyColumn: 'K' });
    expect(url.identity!()).toMatchObject({ kind: 'sqlite', object: 'T' });
  });

  it('file drops: the folder (or the SFTP host and folder, without the user) and the name template', () => {
    const local = make('file-drop', { folder: 'drop', name: 'DRV_{seq:6}.csv', format: LAYOUT });
    expect(local.identity!()).toEqual({ kind: 'file-drop', system: displayPath(join('/srv/rekey/pipelines', 'drop')), object: 'DRV_{seq:6}.csv' });
    const sftp = make('file-drop', {
      folder: 'drop',
      name: 'DRV_{seq:6}.csv',
      format: LAYOUT,
      sftp: { host: 'mainframe.internal', username: 'batchuser', password: 'hunter2', hostKey: `SHA256:${'A'.repeat(43)}`, folder: '/in' },
    });
    expect(sftp.identity!()).toEqual({ kind: 'file-drop', system: 'sftp mainframe.internal:22:/in', object: 'DRV_{seq:6}.csv' });
    expect(JSON.stringify(sftp.identity!())).not.toMatch(/batchuser|hunter2/);
  });

  it('browser: the base URL without user, password or query, and the first page the steps open', () => {
    const b = make('browser', { baseUrl: 'http://clerk:pw@dcs.internal:8080/app?token=abc', steps: [{ goto: '/cases/new' }, { click: '#save' }] });
    expect(b.identity!()).toEqual({ kind: 'browser', system: 'http://dcs.internal:8080/app', object: '/cases/new' });
    expect(urlWithoutSecrets('https://u:p@x.example/a/b?q=Smith#f')).toBe('https://x.example/a/b');
  });
});
