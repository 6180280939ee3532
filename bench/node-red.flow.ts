/**
 * The Node-RED side of the peer benchmark, as an ops team would build it:
 * a flow that reads an NDJSON file by lines, maps each submission in a
 * function node with the same logic as bench/hand-written.ts, joins 2,000
 * records, and writes each batch in one `BEGIN IMMEDIATE ... COMMIT`
 * through node-red-node-sqlite, into a table whose submission key is
 * UNIQUE; plus a settings file that runs it headless.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the flow works on and where it reports. */
export interface FlowPlan {
  /** The NDJSON submissions. */
  input: string;
  /** The SQLite file the flow creates and fills (table LEGACY). */
  db: string;
  /** Written (atomically) when a node first fails, and when the last batch has committed (then still the first failure, if any). */
  marker: string;
  /** The legacy columns after SUBMISSION_KEY, as bench/mapping-12.yaml names them. */
  fields: readonly string[];
  batchSize: number;
}

/** What the flow writes to the marker file. */
export interface FlowOutcome {
  /** From the flow's start (just before the file is opened) to the last COMMIT. */
  seconds?: number;
  /** Node-RED's process CPU (all threads) over the same span, in µs. */
  cpuMicros?: number;
  /** Rows the flow's COMMITs reported. */
  rows?: number;
  /** When the flow started, in ms since the epoch (to tell Node-RED's start-up time, which is not counted). */
  startedAt?: number;
  /** The connection's journal mode and synchronous level, read back before the start. */
  pragmas?: Record<string, unknown>;
  /** The first error a node reported (the run is then void). */
  error?: string;
}

/**
 * The function node's "On Start" code: bench/hand-written.ts as compiled
 * next to this file (plain JavaScript, no imports), kept in the node's
 * context as `mapByHand`.
 */
function mappingPrelude(): string {
  const compiled = readFileSync(fileURLToPath(new URL('./hand-written.js', import.meta.url)), 'utf8');
  const script = compiled.replace(/^export /gm, '').replace(/^\/\/# sourceMappingURL=.*$/m, '');
  if (/^\s*(import|export)\b/m.test(script)) throw new Error('bench/hand-written.js is no longer a plain script: the Node-RED flow cannot embed it');
  return `${script}\ncontext.set('mapByHand', mapByHand);\n`;
}

const MAP = `const mapByHand = context.get('mapByHand');
const last = msg.parts.count !== undefined;
const end = last ? { complete: true, last: true } : null;
if (msg.payload === '') return end;
const s = JSON.parse(msg.payload);
const r = mapByHand(s);
if (r.errors.length) {
  node.error('line ' + (msg.parts.index + 1) + ': ' + r.errors.map((e) => e.field + ' ' + e.rule).join(', '), msg);
  return end;
}
const out = { payload: { key: s.form_name + '/' + s.submission_reference, record: r.record } };
return last ? Object.assign(out, end) : out;
`;

function insertBatch(fields: readonly string[]): string {
  return `const FIELDS = ${JSON.stringify(fields)};
const q = (v) => (v === undefined || v === null ? 'NULL' : "'" + String(v).replace(/'/g, "''") + "'");
const rows = msg.payload;
const values = rows.map((r) => '(' + q(r.key) + ',' + FIELDS.map((f) => q(r.record[f])).join(',') + ')');
const topic = rows.length
  ? 'BEGIN IMMEDIATE;INSERT INTO LEGACY (SUBMISSION_KEY,' + FIELDS.join(',') + ') VALUES ' + values.join(',') + ';COMMIT;'
  : 'SELECT 1;';
return { topic, rows: rows.length, last: msg.last === true };
`;
}

const COMMITTED = `const n = (flow.get('committed') || 0) + msg.rows;
flow.set('committed', n);
if (msg.last) global.get('bench').done(n);
return null;
`;

function settings(dir: string, plan: FlowPlan): string {
  return `const fs = require('node:fs');
const marker = ${JSON.stringify(plan.marker)};
let t0, c0, pragmas, startedAt, failed;
const write = (o) => { fs.writeFileSync(marker + '.tmp', JSON.stringify(o)); fs.renameSync(marker + '.tmp', marker); };
module.exports = {
  userDir: ${JSON.stringify(dir)},
  flowFile: ${JSON.stringify(join(dir, 'flows.json'))},
  credentialSecret: false,
  httpAdminRoot: false,
  httpNodeRoot: false,
  logging: { console: { level: 'warn', metrics: false, audit: false } },
  functionGlobalContext: {
    bench: {
      start(p) { pragmas = p; startedAt = Date.now(); c0 = process.cpuUsage(); t0 = process.hrtime.bigint(); },
      done(rows) {
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const c = process.cpuUsage(c0);
        write(failed === undefined ? { seconds, cpuMicros: c.user + c.system, rows, startedAt, pragmas } : { error: failed });
      },
      fail(error) { if (failed === undefined) { failed = String(error); write({ error: failed }); } },
    },
  },
};
`;
}

function fn(id: string, name: string, func: string, wires: string[], initialize = ''): Record<string, unknown> {
  return { id, type: 'function', z: 'nr-tab', name, func, outputs: 1, timeout: 0, noerr: 0, initialize, finalize: '', libs: [], wires: [wires] };
}

function flows(plan: FlowPlan): Record<string, unknown>[] {
  const setup = [
    'PRAGMA journal_mode=WAL;',
    'PRAGMA synchronous=FULL;',
    `CREATE TABLE LEGACY (CASE_ID INTEGER PRIMARY KEY AUTOINCREMENT, SUBMISSION_KEY TEXT NOT NULL UNIQUE, ${plan.fields.map((f) => `${f} TEXT`).join(', ')});`,
  ].join('');
  return [
    { id: 'nr-tab', type: 'tab', label: 'rekey peer benchmark', disabled: false },
    { id: 'nr-db', type: 'sqlitedb', db: plan.db, mode: 'RWC' },
    { id: 'nr-go', type: 'inject', z: 'nr-tab', name: 'once', props: [{ p: 'topic', vt: 'str' }], repeat: '', crontab: '', once: true, onceDelay: '1', topic: setup, wires: [['nr-setup']] },
    { id: 'nr-setup', type: 'sqlite', z: 'nr-tab', mydb: 'nr-db', sqlquery: 'batch', sql: '', name: 'WAL, synchronous=FULL, table', wires: [['nr-ask']] },
    fn('nr-ask', 'read back the pragmas', "msg.topic = 'SELECT * FROM pragma_journal_mode, pragma_synchronous';\nreturn msg;", ['nr-pragmas']),
    { id: 'nr-pragmas', type: 'sqlite', z: 'nr-tab', mydb: 'nr-db', sqlquery: 'msg.topic', sql: '', name: 'pragmas', wires: [['nr-start']] },
    fn('nr-start', 'start the clock', "global.get('bench').start(msg.payload[0]);\nreturn { topic: 'read' };", ['nr-read']),
    { id: 'nr-read', type: 'file in', z: 'nr-tab', name: 'submissions by line', filename: plan.input, filenameType: 'str', format: 'lines', chunk: false, sendError: false, encoding: 'none', allProps: false, wires: [['nr-map']] },
    fn('nr-map', 'JSON.parse and map (12 fields)', MAP, ['nr-join'], mappingPrelude()),
    {
      id: 'nr-join',
      type: 'join',
      z: 'nr-tab',
      name: `${plan.batchSize} a batch`,
      mode: 'custom',
      build: 'array',
      property: 'payload',
      propertyType: 'msg',
      key: 'topic',
      joiner: '\\n',
      joinerType: 'str',
      useparts: false,
      accumulate: false,
      timeout: '',
      count: String(plan.batchSize),
      reduceRight: false,
      wires: [['nr-sql']],
    },
    fn('nr-sql', 'one transaction a batch', insertBatch(plan.fields), ['nr-write']),
    { id: 'nr-write', type: 'sqlite', z: 'nr-tab', mydb: 'nr-db', sqlquery: 'batch', sql: '', name: 'BEGIN IMMEDIATE ... COMMIT', wires: [['nr-committed']] },
    fn('nr-committed', 'count commits', COMMITTED, []),
    { id: 'nr-catch', type: 'catch', z: 'nr-tab', name: 'any error', scope: null, uncaught: false, wires: [['nr-fail']] },
    fn('nr-fail', 'report the error', "global.get('bench').fail((msg.error && msg.error.message) || 'unknown error');\nreturn null;", []),
  ];
}

/** Writes the settings file and the flow for `plan` into `dir` (Node-RED's user folder) and returns the settings file's path. */
export function writeFlow(dir: string, plan: FlowPlan): string {
  writeFileSync(join(dir, 'flows.json'), JSON.stringify(flows(plan), null, 1));
  const file = join(dir, 'settings.js');
  writeFileSync(file, settings(dir, plan));
  return file;
}
