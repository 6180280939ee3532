/** Test helpers: a pipeline with routes over the report-a-death fixture, in a temp dir. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../cli.test-helpers.js';

/**
 * Pipeline `death` tells two back offices of the report-a-death fixture,
 * each through its own route, both only when the driving-licence question
 * was answered: 2 of the 10 reports go to no route.
 */
export function pipelineYaml(dir: string): string {
  const target = (table: string, sql: string) => `{ kind: sqlite, config: { path: ${join(dir, 'legacy.sqlite')}, table: ${table}, keyColumn: SUBMISSION_KEY, setupSql: ${join(dir, sql)} } }`;
  return `pipeline: death
source: { kind: file, config: { path: ${join(root, 'fixtures/submissions/govuk-forms/report-a-death.ndjson')} } }
routes:
  - route: driving-licence
    mapping: ${join(root, 'examples/mappings/report-a-death-driving-licence.yaml')}
    when: { answer: Dl7wC4nB, exists: true }
    target: ${target('DRV_DEATH_NOTICE', 'dl.sql')}
  - route: council-tax
    mapping: ${join(root, 'examples/mappings/report-a-death-council-tax.yaml')}
    when: { answer: Dl7wC4nB, exists: true }
    target: ${target('CT_DEATH', 'ct.sql')}
`;
}

const DL_SQL = 'CREATE TABLE IF NOT EXISTS DRV_DEATH_NOTICE (ID INTEGER PRIMARY KEY AUTOINCREMENT, SUBMISSION_KEY TEXT NOT NULL UNIQUE, FORM_REF TEXT, LICENCE_NO TEXT, SURNAME TEXT, FORENAMES TEXT, DATE_OF_BIRTH TEXT, DATE_OF_DEATH TEXT, NOTIFIED_ON TEXT);\n';
const CT_SQL = 'CREATE TABLE IF NOT EXISTS CT_DEATH (ID INTEGER PRIMARY KEY AUTOINCREMENT, SUBMISSION_KEY TEXT NOT NULL UNIQUE, CASE_REF TEXT, COUNCIL TEXT, ACCOUNT_NO TEXT, TITLE TEXT, FORENAMES TEXT, SURNAME TEXT, ADDRESS_LINE_1 TEXT, ADDRESS_LINE_2 TEXT, TOWN TEXT, POSTCODE TEXT, DATE_OF_DEATH TEXT, NOTIFIED_ON TEXT);\n';

/** A new temp dir holding `p.yaml` (see `pipelineYaml`) and its targets' setup SQL; the state store goes in `state.sqlite` there. */
export function routedPipelineDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-cases-'));
  writeFileSync(join(dir, 'dl.sql'), DL_SQL);
  writeFileSync(join(dir, 'ct.sql'), CT_SQL);
  writeFileSync(join(dir, 'p.yaml'), pipelineYaml(dir));
  return dir;
}
