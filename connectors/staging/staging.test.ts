import { describe, expect, it } from 'vitest';
import { compileSchema } from '../../lib/schema-check.js';
import { stagingSettings, stagingSourceConfigSchema } from './staging.config.js';
import { StagingDb } from './staging.db.js';
import { rowBody } from './staging.body.js';
import { isDeadLocalOwner, newOwnerId, retireOwnerId } from './staging.owner.js';
import { stagingTableSource } from './staging.source.js';

const base = { url: 'sqlite:staging.sqlite', table: 'FORM_SUBMISSIONS', keyColumn: 'ID' };

describe('staging-table config', () => {
  const validate = compileSchema(stagingSourceConfigSchema);

  it('takes exactly one of status and watermark mode', () => {
    expect(validate({ ...base, status: { column: 'STATUS' } })).toBe(true);
    expect(validate({ ...base, watermark: { column: 'SEQ' } })).toBe(true);
    expect(validate(base)).toBe(false);
    expect(validate({ ...base, status: { column: 'STATUS' }, watermark: { column: 'SEQ' } })).toBe(false);
  });

  it('refuses odd identifiers', () => {
    expect(validate({ ...base, url: 'postgres://rekey@db:5432/forms', status: { column: 'S' } })).toBe(true);
    expect(validate({ ...base, table: 'forms.FORM_SUBMISSIONS', status: { column: 'S' } })).toBe(true);
    expect(validate({ ...base, table: 'x; DROP TABLE y', status: { column: 'S' } })).toBe(false);
    expect(validate({ ...base, keyColumn: 'ID"', status: { column: 'S' } })).toBe(false);
  });

  it('fills in defaults and refuses settings the schema cannot check', () => {
    expect(stagingSettings({ ...base, status: { column: 'STATUS' } })).toEqual({
      ...base,
      body: undefined,
      maxDepth: 64,
      batchSize: 500,
      claimTimeoutMs: 600_000,
      mode: { kind: 'status', status: { column: 'STATUS', new: 'NEW', claimed: 'CLAIMED', done: 'DONE', error: 'ERROR', ownerColumn: 'CLAIMED_BY', claimedAtColumn: 'CLAIMED_AT' } },
    });
    expect(stagingSettings({ ...base, watermark: { column: 'SEQ' }, claimTimeout: '90s' }).mode).toEqual({ kind: 'watermark', column: 'SEQ', stateTable: 'rekey_watermarks' });
    expect(() => stagingSettings({ ...base, status: { column: 'S', done: 'NEW' } })).toThrow('the status values must differ: new "NEW", claimed "CLAIMED", done "NEW", error "ERROR"');
    expect(() => stagingSettings({ ...base, status: { column: 'S' }, claimTimeout: '0s' })).toThrow('claimTimeout must be a duration above zero');
    expect(() => stagingTableSource.create({ ...base, url: 'mysql://root@db/forms', status: { column: 'S' } }, { baseDir: '/x', pipeline: 'p' })).toThrow(
      'url must start with postgres://, mariadb:// or sqlite: (got "mysql")',
    );
  });

  it('builds without touching the database', () => {
    const s = stagingTableSource.create({ ...base, url: 'postgres://u:pw@127.0.0.1:1/none', status: { column: 'S' } }, { baseDir: '/x', pipeline: 'p' });
    expect(s.dialect).toBe('postgres');
  });
});

describe('staging database URLs', () => {
  it('shows a URL without its password, and takes the password out of driver errors', () => {
    const db = new StagingDb('postgres://rekey:s%40cret@db:5432/forms', '/x');
    expect(db.where).toBe('postgres://rekey:***@db:5432/forms');
    const f = db.failure(new Error('password authentication failed: s@cret rejected'), 'cannot connect');
    expect(f.message).toBe('cannot connect (postgres://rekey:***@db:5432/forms): password authentication failed: *** rejected');
    expect(JSON.stringify(f.toData()) + String(f.stack)).not.toContain('s@cret');
  });

  it('resolves a SQLite path against the pipeline folder and quotes identifiers per dialect', () => {
    expect(new StagingDb('sqlite:data/staging.sqlite', '/pipes').sqliteFile).toBe('/pipes/data/staging.sqlite');
    expect(new StagingDb('sqlite:///abs/staging.sqlite', '/pipes').sqliteFile).toBe('/abs/staging.sqlite');
    expect(new StagingDb('mariadb://root@db/forms', '/x').id('forms.T`X')).toBe('`forms`.`T``X`');
    expect(new StagingDb('postgres://u@db/forms', '/x').id('public.FORM')).toBe('"public"."FORM"');
  });
});

describe('staging row bodies', () => {
  const json = { kind: 'json' as const, column: 'PAYLOAD', maxDepth: 64 };
  it('takes columns by name, dates as ISO text', () => {
    const when = new Date('2024-03-14T10:22:31.418Z');
    expect(rowBody({ ID: 1, REF: 'A', AT: when, STATUS: 'NEW' }, { kind: 'columns', columns: ['ID', 'REF', 'AT'], maxDepth: 64 }, 'T', 1)).toEqual({
      ok: true,
      body: { ID: 1, REF: 'A', AT: '2024-03-14T10:22:31.418Z' },
    });
  });

  it('parses the JSON column, or names table, key, column and reason without the value', () => {
    expect(rowBody({ PAYLOAD: '{"a":1}' }, json, 'T', 1)).toEqual({ ok: true, body: { a: 1 } });
    expect(rowBody({ PAYLOAD: { a: 1 } }, json, 'T', 1)).toEqual({ ok: true, body: { a: 1 } });
    const msg = (v: unknown) => {
      const r = rowBody({ PAYLOAD: v }, json, 'forms.T', 42);
      return r.ok ? 'ok' : `${r.error.code} ${r.error.disposition} ${r.error.field}: ${r.error.message}`;
    };
    expect(msg('{"surname": Smith}')).toBe('STAGING_BODY reject PAYLOAD: forms.T row 42: column PAYLOAD is not valid JSON');
    expect(msg('{"surname" "Smith"}')).toBe('STAGING_BODY reject PAYLOAD: forms.T row 42: column PAYLOAD is not valid JSON (at character 12)');
    expect(msg('{"surname":')).toBe('STAGING_BODY reject PAYLOAD: forms.T row 42: column PAYLOAD is not valid JSON (it ends too soon: cut off?)');
    expect(msg(null)).toBe('STAGING_BODY reject PAYLOAD: forms.T row 42: column PAYLOAD is empty');
    expect(msg('  ')).toBe('STAGING_BODY reject PAYLOAD: forms.T row 42: column PAYLOAD is empty');
    expect(msg('"text"')).toBe('STAGING_BODY reject PAYLOAD: forms.T row 42: column PAYLOAD holds JSON string, not a submission object');
    expect(msg(Buffer.from('{"a":1}'))).toBe('ok');
  });

  it('refuses a body nested deeper than maxDepth, as JSON text or as a value the driver parsed, in the JSON column or any other', () => {
    const text = `{"a":${'['.repeat(10_000)}"Zqx7Canary"${']'.repeat(10_000)}}`;
    const refused = (r: ReturnType<typeof rowBody>) => (r.ok ? 'ok' : `${r.error.code} ${r.error.field}: ${r.error.message}`);
    const deep = 'STAGING_BODY PAYLOAD: forms.T row 42: column PAYLOAD nests arrays and objects deeper than 64 levels (maxDepth)';
    expect(refused(rowBody({ PAYLOAD: text }, json, 'forms.T', 42))).toBe(deep);
    expect(refused(rowBody({ PAYLOAD: JSON.parse(text) }, json, 'forms.T', 42))).toBe(deep);
    expect(refused(rowBody({ PAYLOAD: JSON.parse(text), ID: 42 }, { kind: 'columns', columns: ['ID', 'PAYLOAD'], maxDepth: 64 }, 'forms.T', 42))).toBe(deep);
    const limit = `{"a":${'['.repeat(2)}1${']'.repeat(2)}}`;
    expect(refused(rowBody({ PAYLOAD: limit }, { ...json, maxDepth: 3 }, 'T', 1))).toBe('ok');
    expect(refused(rowBody({ PAYLOAD: JSON.parse(limit) }, { kind: 'columns', columns: ['PAYLOAD'], maxDepth: 3 }, 'T', 1))).toContain('deeper than 3 levels');
    expect(refused(rowBody({ PAYLOAD: JSON.parse(limit) }, { kind: 'columns', columns: ['PAYLOAD'], maxDepth: 4 }, 'T', 1))).toBe('ok');
  });
});

describe('claim owners', () => {
  it('knows an owner of this process as live until retired, and a dead process on this host as gone', () => {
    const id = newOwnerId();
    expect(isDeadLocalOwner(id)).toBe(false);
    retireOwnerId(id);
    expect(isDeadLocalOwner(id)).toBe(true);
    expect(isDeadLocalOwner(id.replace(/:\d+:/, `:${process.ppid}:`))).toBe(false);
    expect(isDeadLocalOwner(id.replace(/^runner:[^:]+:/, 'runner:another-host:'))).toBe(false);
    expect(isDeadLocalOwner(id.replace(/:\d+:/, ':2147483646:'))).toBe(true);
    expect(isDeadLocalOwner('someone else')).toBe(false);
  });
});
