/**
 * The canary suite (issue 16): unique values in every field the mappings
 * mark `pii: true` and in every secret (the legacy databases' passwords,
 * the state store's, the webhook signing key, the clerk's sign-in password,
 * the data and audit keys), driven through every target (SQLite,
 * PostgreSQL, MariaDB, file drop, browser) and the webhook intake by the
 * real CLI, along every path (delivered, rejected by the mapping and by the
 * legacy system, retried, dead-lettered, replayed, corrected, purged,
 * erased; a database that is down or refuses the password); then every
 * byte rekey wrote outside the legacy targets (state stores, logs JSON and
 * pretty, evidence with traces unzipped, inbox folders, temp files, audit
 * exports, CLI output) is searched for them. Expected: none, in any
 * encoding. The legacy targets are left out of the search, and the suite
 * first checks that the canaries did reach each of them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prettyFactory } from 'pino-pretty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, report, scanBytes, scanPostgresSchema, scanSqlite, scanTree, type Leak } from './canary.test-helpers.js';
import type { Person } from './canary.people.test-helpers.js';
import { canaries, chromium, dirs, legacy, mariaQuery, mariaTable, outputs, pgQuery, pgSchema, pgStateSchema, people, plain, problems, sqliteColumn } from './canary.run.test-helpers.js';
import { cleanUp, CONTROL, drive, OPENED_EVIDENCE } from './canary.lanes.test-helpers.js';
import { PG_URL } from '../../../connectors/sql/sql.test-helpers.js';

const leaksOf = (title: string, leaks: Leak[]) => expect(report(leaks), `${title}: canaries found in clear`).toEqual([]);
let treeScan: { files: string[]; leaks: Leak[] } = { files: [], leaks: [] };
const NO_CHROMIUM = chromium ? '' : ' (skipped: no Chromium installed and none could be installed; the browser lane did not run)';

describe('the canary suite: no citizen\'s value and no secret in anything rekey writes', () => {
  beforeAll(async () => {
    treeScan = await drive();
  }, 600_000);

  afterAll(cleanUp);

  it('the canaries did reach every legacy target (so that finding none elsewhere means something)', async () => {
    expect(await sqliteColumn(join(dirs.legacy, 'sqlite.sqlite'), 'SELECT SURNAME AS v FROM DRV_ADDR_CHG')).toEqual([people.sqliteGood.surname]);
    expect(await sqliteColumn(join(dirs.legacy, 'inbox.sqlite'), 'SELECT SURNAME AS v FROM DRV_ADDR_CHG')).toEqual([people.inboxGood.surname]);
    expect(await sqliteColumn(join(dirs.legacy, 'hook.sqlite'), 'SELECT SURNAME AS v FROM DRV_ADDR_CHG')).toEqual([people.hookGood.surname]);
    const pgRows = await pgQuery<{ surname: string }>(`SELECT surname FROM ${pgSchema}.drv_addr_chg`);
    expect(pgRows.map((r) => r.surname.trim()).sort()).toEqual([people.pgGood.surname, people.pgRetry.surname].sort());
    const mariaRows = await mariaQuery(`SELECT surname FROM ${mariaTable}`);
    expect(mariaRows.map((r) => r.surname)).toEqual([people.mariaGood.surname]);
    const dropped = filesUnder(join(dirs.legacy, 'drop')).map((f) => readFileSync(f, 'latin1')).join('\n');
    expect(dropped).toContain(people.dropGood.surname);
    if (legacy.app) expect(legacy.app.store.cases.map((c) => c.surname).sort()).toEqual([people.browserGood.surname, people.browserLost.surname].sort());
    expect(existsSync(join(dirs.state, 'state.sqlite'))).toBe(true);
    const planted = new Set(scanTree(canaries, dirs.input).leaks.map((l) => l.canary));
    expect(planted.size, 'canaries the scanner finds in the inputs').toBeGreaterThan(100);
  });

  it('every path was taken: rejected, retried, dead-lettered, replayed, corrected, refused by the legacy system, purged, erased', () => {
    expect(problems).toEqual([]);
    const shown = (pipeline: string, p: Person) => {
      const c = outputs.find((o) => o.label === `dlq show --json ${pipeline} ${p.tag}`);
      return c?.code === 0 ? (JSON.parse(c.stdout) as { row: { state: string; attempts: number }; history: { event: string }[] }) : undefined;
    };
    expect(shown('canary-sqlite', people.sqliteBad)?.row.state).toBe('rejected');
    expect(shown('canary-sqlite', people.sqliteGood)?.history.map((h) => h.event)).toContain('replayed');
    expect(shown('canary-pg', people.pgRetry)?.row).toMatchObject({ state: 'delivered', attempts: 2 });
    expect(shown('canary-pg', people.pgDead)?.row.state).toBe('dead');
    expect(shown('canary-pg', people.pgRefused)?.row.state).toMatch(/rejected/);
    expect(shown('canary-mariadb', people.mariaRefused)?.row.state).toMatch(/rejected/);
    expect(shown('canary-drop', people.dropBad)?.row.state).toBe('rejected');
    expect(shown('canary-inbox', people.inboxBad)?.row.state).toBe('rejected');
    expect(shown('canary-hook', people.hookGood)?.row.state).toBe('delivered');
    expect(outputs.filter((o) => o.label.endsWith('(pretty, in a terminal)') && /^\[[\d:.]+\] (INFO|DEBUG|WARN) \(\d+\)/m.test(plain(o.stdout))).length, 'runs whose logs were drawn pretty').toBeGreaterThan(0);
    expect(outputs.find((o) => o.label === 'run canary-sqlite, corrected resent')?.stdout).toMatch(/"conflicts": 1/);
    if (legacy.app) {
      expect(shown('canary-browser', people.browserRefused)?.row.state).toMatch(/rejected/);
      expect(Math.max(...[people.browserGood, people.browserLost].map((p) => shown('canary-browser', p)?.row.attempts ?? 0)), 'a lost save, retried').toBeGreaterThanOrEqual(2);
    }
  });

  it('no canary in the SQLite state stores: the files (with -wal and -shm) byte for byte, and every cell of every table', async () => {
    const files = readdirSync(dirs.state).map((f) => join(dirs.state, f));
    expect(files.some((f) => f.endsWith('state.sqlite'))).toBe(true);
    const leaks = treeScan.leaks.filter((l) => l.where.startsWith('state/'));
    for (const f of files.filter((x) => x.endsWith('.sqlite'))) leaks.push(...(await scanSqlite(canaries, f, `state/${f.split('/').pop()}`)));
    const sent = await sqliteColumn(files.find((f) => f.endsWith('state.sqlite'))!, 'SELECT COUNT(*) AS v FROM ledger_sent');
    expect(Number(sent[0]), 'records as sent kept (sealed) in ledger_sent, scanned above').toBeGreaterThan(0);
    leaksOf('SQLite state stores', leaks);
  });

  it('no canary in the PostgreSQL state store: every row of every table in its schema', async () => {
    const { tables, leaks } = await scanPostgresSchema(canaries, PG_URL, pgStateSchema);
    expect(tables).toContain('ledger_bodies');
    expect(tables).toContain('ledger_sent');
    const [sent] = await pgQuery<{ n: string }>(`SELECT COUNT(*) AS n FROM "${pgStateSchema}".ledger_sent`);
    expect(Number(sent!.n), 'records as sent kept (sealed) in ledger_sent, scanned above').toBeGreaterThan(0);
    leaksOf('PostgreSQL state store', leaks);
  });

  it.skipIf(!chromium)(`no canary in the evidence: screenshots and traces, unzipped${NO_CHROMIUM}`, () => {
    const evidence = treeScan.files.filter((f) => f.startsWith(`${dirs.evidence}/`));
    expect(evidence.length).toBeGreaterThan(0);
    leaksOf('evidence', treeScan.leaks.filter((l) => l.where.startsWith('evidence/')));
  });

  it.skipIf(!chromium)(`decrypted by rekey evidence, a submission's evidence holds its own data only, and never a secret (the sign-in password)${NO_CHROMIUM}`, () => {
    let own = 0;
    const foreign: Leak[] = [];
    for (const p of [people.browserGood, people.browserLost, people.browserRefused]) {
      const dir = join(OPENED_EVIDENCE, p.tag);
      if (!existsSync(dir)) continue;
      for (const l of scanTree(canaries, dir).leaks) {
        if (l.canary.endsWith(` of ${p.tag}`)) own++;
        else foreign.push({ ...l, where: `${p.tag}/${l.where}` });
      }
    }
    expect(own, 'own values found in decrypted traces: the search sees into them').toBeGreaterThan(0);
    expect(report(foreign), 'decrypted evidence holding another submission\'s values or a secret').toEqual([]);
  });

  it('no canary in the inbox folders: done, quarantine, processing and their reports', () => {
    const inbox = treeScan.files.filter((f) => f.startsWith(`${dirs.inbox}/`));
    expect(inbox.some((f) => f.includes('/done/'))).toBe(true);
    expect(inbox.some((f) => f.includes('/quarantine/'))).toBe(true);
    leaksOf('inbox folders', treeScan.leaks.filter((l) => l.where.startsWith('inbox/')));
  });

  it('no canary in any other file rekey wrote: temp files, .rekey, reports, audit export files, pipeline files', () => {
    leaksOf('other files', treeScan.leaks.filter((l) => !/^(state|evidence|inbox)\//.test(l.where)));
  });

  it('no canary in the logs, JSON and pretty, of any process (and none when the JSON is drawn by pino-pretty)', () => {
    const pretty = prettyFactory({ colorize: false });
    const leaks: Leak[] = [];
    for (const o of outputs) {
      leaks.push(...scanBytes(canaries, `stderr of ${o.label}`, Buffer.from(o.stderr)));
      if (o.label.endsWith('(pretty, in a terminal)')) leaks.push(...scanBytes(canaries, `terminal of ${o.label} without escapes`, Buffer.from(plain(o.stdout))));
      const drawn = o.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => pretty(l)).join('');
      leaks.push(...scanBytes(canaries, `stderr of ${o.label} drawn by pino-pretty`, Buffer.from(drawn)));
    }
    expect(outputs.filter((o) => o.stderr.includes('"level"')).length).toBeGreaterThan(0);
    leaksOf('logs', leaks);
  });

  it('no canary in what the commands print: run summaries, replay, dlq list/show (without --body), status, audit export, verify and prove', () => {
    expect(outputs.filter((o) => o.label.startsWith('dlq show')).length).toBeGreaterThan(18);
    const proofs = outputs.filter((o) => o.label.startsWith('audit prove'));
    expect(proofs.length).toBeGreaterThan(3);
    for (const o of proofs) expect({ label: o.label, code: o.code, made: /^proof of submission /m.test(o.stderr) }).toEqual({ label: o.label, code: 0, made: true });
    const control = outputs.find((o) => o.label === CONTROL);
    expect(new Set(scanBytes(canaries, CONTROL, Buffer.from(control?.stdout ?? '')).map((l) => l.canary)).size, 'values the search finds in the body dlq show --body prints').toBeGreaterThan(5);
    leaksOf('CLI output', outputs.filter((o) => o !== control).flatMap((o) => scanBytes(canaries, `stdout of ${o.label}`, Buffer.from(o.stdout))));
  });
});
