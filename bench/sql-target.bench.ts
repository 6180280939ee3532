/**
 * The `sql` target into the DVLA-like legacy `cases` table on PostgreSQL
 * (its CHECKs and row trigger included), all in one run on the same table,
 * emptied between runs: the target's COPY path, its multi-row INSERT path
 * (bulkLoad: false), Sequelize's bulkCreate, and a raw COPY of the already
 * mapped rows (the practical limit). The target runs get batches of 5,000
 * records as the runner hands them over, keys probed first. Before them
 * (while the mapped rows are not yet on the heap), rekey end to end into
 * the same table (sql-end-to-end.ts): an NDJSON file of as many
 * submissions, mapped on 2 workers, recorded in the SQLite ledger,
 * delivered by the same target's COPY path, outcomes recorded; its ratio
 * to raw COPY has the goal >= 0.5.
 * REKEY_BENCH_RECORDS rows (default 200,000); REKEY_TEST_PG_URL;
 * REKEY_BENCH_DIR for the end-to-end run's files (default the system's
 * temporary folder). 1,000,000 (REKEY_BENCH_RECORDS=1000000) needs a quiet
 * machine, about 1.1 GB there for the input file and 2.5 GB for the ledger
 * (deleted afterwards), and about 10 minutes in all.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pino from 'pino';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataTypes, Sequelize } from 'sequelize';
import type { Ctx, MappedRecord } from '../connectors/connector.types.js';
import { sqlTarget } from '../connectors/sql/sql.target.js';
import { copyText } from '../connectors/sql/postgres.copy.js';
import { cpuClock, serverCpuClock } from './cpu.js';
import { repoRoot, type Figure } from './mapping.bench.js';
import { sqlEndToEnd, type EndToEndResult } from './sql-end-to-end.js';

const PG_URL = process.env.REKEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BATCH = 5_000;
const COLUMNS = ['SUBMISSION_KEY', 'CASE_TYPE', 'WEB_REF', 'DRIVER_NO', 'SURNAME', 'FORENAMES', 'POSTCODE', 'MOVE_DATE', 'FEE'] as const;

const SURNAMES = ['MORGAN', 'JONES', 'NÍ BHRIAIN', 'SMITH', "O'NEILL", 'GWYNEDD-JONES', 'PATEL', 'MACLEOD'];

function records(n: number): MappedRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `bench/${i}`,
    record: {
      CASE_TYPE: 'COA',
      WEB_REF: `W${String(i % 10_000_000).padStart(7, '0')}`,
      DRIVER_NO: `DRV${String(i).padStart(13, '0')}`,
      SURNAME: SURNAMES[i % SURNAMES.length],
      FORENAMES: 'SARAH JANE',
      POSTCODE: 'SW1A 1AA',
      MOVE_DATE: '01.02.2024',
      FEE: (i % 9000) / 100,
    },
    children: {},
    mappingVersion: 'sha256:bench',
    uncertain: false,
  }));
}

const rowOf = (r: MappedRecord) => [r.key, ...COLUMNS.slice(1).map((c) => r.record[c])];

async function timed(name: string, n: number, fn: () => Promise<void>): Promise<Figure> {
  const cpu = cpuClock();
  const server = serverCpuClock();
  const t0 = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name, records: n, seconds, perSecond: n / seconds, cpuMicrosPerRecord: cpu(n), serverCpuMicrosPerRecord: server(n) };
}

/** Runs the four loads and rekey end to end, and returns their figures and ratios. */
export async function sqlTargetBench(n: number): Promise<Record<string, unknown>> {
  const schema = `rekey_bench_${randomBytes(3).toString('hex')}`;
  const admin = new Sequelize(PG_URL, { logging: false });
  await admin.query(`CREATE SCHEMA ${schema}; SET search_path TO ${schema};\n${readFileSync(join(repoRoot(), 'fixtures/legacy/dvla.postgres.sql'), 'utf8')}`);
  const table = `${schema}.cases`;
  const ctx: Ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1 };
  const empty = () => admin.query(`TRUNCATE ${table} RESTART IDENTITY CASCADE`);
  const count = async () => Number(((await admin.query(`SELECT count(*) AS n FROM ${table}`))[0] as { n: string }[])[0]?.n);
  const figures: Figure[] = [];
  let endToEnd: EndToEndResult | undefined;
  try {
    endToEnd = await sqlEndToEnd({ pgUrl: PG_URL, table, total: n, select: async (sql) => (await admin.query(sql))[0] as Record<string, unknown>[] });
    figures.push(endToEnd.figure, endToEnd.stage);
    const data = records(n);

    for (const [name, bulkLoad] of [
      ['sql target, COPY path', true],
      ['sql target, INSERT path', false],
    ] as const) {
      await empty();
      const t = sqlTarget.create({ url: PG_URL, table, keyColumn: 'SUBMISSION_KEY', batchSize: 1000, bulkLoad }, { baseDir: '.', pipeline: 'bench' });
      await t.connect(ctx);
      figures.push(
        await timed(name, n, async () => {
          for (let i = 0; i < n; i += BATCH) {
            const out = await t.deliver(data.slice(i, i + BATCH), ctx);
            const bad = out.find((o) => o.status !== 'delivered');
            if (bad) throw new Error(`${name}: ${JSON.stringify(bad)}`);
          }
        }),
      );
      await t.close();
      if ((await count()) !== n) throw new Error(`${name}: the table holds ${await count()} rows, not ${n}`);
    }

    await empty();
    const model = admin.define(
      'Case',
      {
        case_id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
        submission_key: DataTypes.STRING(120),
        case_type: DataTypes.CHAR(3),
        web_ref: DataTypes.CHAR(8),
        driver_no: DataTypes.CHAR(16),
        surname: DataTypes.CHAR(35),
        forenames: DataTypes.STRING(35),
        postcode: DataTypes.CHAR(8),
        move_date: DataTypes.CHAR(10),
        fee: DataTypes.DECIMAL(7, 2),
      },
      { schema, tableName: 'cases', timestamps: false },
    );
    figures.push(
      await timed('Sequelize bulkCreate', n, async () => {
        for (let i = 0; i < n; i += BATCH) {
          await model.bulkCreate(
            data.slice(i, i + BATCH).map((r) => Object.fromEntries(rowOf(r).map((v, c) => [(COLUMNS[c] as string).toLowerCase(), v]))),
            { fields: COLUMNS.map((c) => c.toLowerCase()), returning: false },
          );
        }
      }),
    );
    if ((await count()) !== n) throw new Error('bulkCreate: row count differs');

    await empty();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    figures.push(
      await timed('raw COPY of mapped rows (limit)', n, async () => {
        const stream = client.query(copyFrom(`COPY ${table} (${COLUMNS.join(', ')}) FROM STDIN`));
        await pipeline(
          Readable.from(
            (function* () {
              for (let i = 0; i < n; i += 10_000) yield data.slice(i, i + 10_000).map((r) => rowOf(r).map(copyText).join('\t') + '\n').join('');
            })(),
          ),
          stream,
        );
      }),
    );
    await client.end();
    if ((await count()) !== n) throw new Error('raw COPY: row count differs');
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.close();
  }
  const rate = (name: string) => figures.find((f) => f.name.startsWith(name))?.perSecond ?? NaN;
  return {
    records: n,
    batch: BATCH,
    figures,
    ratios: {
      copyPathOverInsertPath: rate('sql target, COPY') / rate('sql target, INSERT'),
      copyPathOverBulkCreate: rate('sql target, COPY') / rate('Sequelize'),
      copyPathOverRawCopy: rate('sql target, COPY') / rate('raw COPY'),
      endToEndOverRawCopy: rate('rekey end to end') / rate('raw COPY'),
      endToEndOverBulkCreate: rate('rekey end to end') / rate('Sequelize'),
      // The ceiling on this machine: the workers' stage alone, with nothing recorded or delivered, against raw COPY.
      mappingStageOverRawCopy: rate('mapping stage alone') / rate('raw COPY'),
    },
    goals: { endToEndOverRawCopy: '>= 0.5' },
    goalMet: { endToEndOverRawCopy: rate('rekey end to end') / rate('raw COPY') >= 0.5 },
    endToEndChecks: endToEnd?.checks,
  };
}
