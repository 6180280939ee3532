/**
 * Every layer's error catalogue in one list, for the CLI (the hint of a
 * code), docs/errors.md (generated from it) and the test that every code
 * thrown anywhere is catalogued. The catalogues themselves stay one per
 * layer (mappings, connectors, pipelines); this only gathers them.
 */
import { CryptoErrors } from '../lib/envelope.errors.js';
import { DISPOSITIONS, type ErrorDef } from '../lib/errors.js';
import { CONNECTOR_CATALOGUES } from '../connectors/connector.errors.js';
import { MappingErrors } from '../mappings/mapping.errors.js';
import { PipelineCodes } from '../pipelines/pipeline.errors.js';
import { ConsoleErrors } from './console/console.errors.js';

/** One layer's catalogue: where it is written and its entries. */
export interface CatalogueSection {
  layer: string;
  file: string;
  about: string;
  entries: readonly ErrorDef[];
}

/** Every catalogue, in layer order. */
export const ERROR_CATALOGUES: readonly CatalogueSection[] = [
  { layer: 'lib', file: 'lib/envelope.errors.ts', about: 'Encryption at rest: key-encryption keys, data keys, sealed bodies and files.', entries: Object.values(CryptoErrors) },
  { layer: 'mappings', file: 'mappings/mapping.errors.ts', about: 'Loading a mapping and mapping a record.', entries: Object.values(MappingErrors) },
  {
    layer: 'connectors',
    file: 'connectors/connector.errors.ts',
    about: 'Sources and targets: reading input, the webhook intake, SQL, file drop, browser and GOV.UK Notify.',
    entries: Object.values(CONNECTOR_CATALOGUES).flatMap((c) => Object.values(c)),
  },
  { layer: 'pipelines', file: 'pipelines/pipeline.errors.ts', about: 'The state store, ledger, audit log and delivery.', entries: Object.values(PipelineCodes) },
  { layer: 'runner', file: 'runner/console/console.errors.ts', about: 'The console of rekey serve: its users file and settings.', entries: Object.values(ConsoleErrors) },
];

const BY_CODE = new Map(ERROR_CATALOGUES.flatMap((s) => s.entries.map((e) => [e.code, e] as const)));

/** The entry of `code` in any catalogue; undefined for a code no catalogue holds. */
export function catalogued(code: string): ErrorDef | undefined {
  return BY_CODE.get(code);
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function disposition(e: ErrorDef): string {
  const other = DISPOSITIONS.flatMap((d) => (e.otherwise?.[d] ? [`${d} ${e.otherwise[d]}`] : []));
  return other.length ? `${e.disposition} (${other.join('; ')})` : e.disposition;
}

/** docs/errors.md as it should be: every code of every catalogue with its disposition, meaning and hint. */
export function errorsDocText(): string {
  let out = `# Error codes

Generated from the error catalogues by \`npm run docs\`; do not edit by hand.

Every error rekey reports has a stable code and a disposition telling the
runner what to do with it: \`retry\` (transient: retried with backoff, then
dead-lettered), \`reject\` (this record or request is wrong: reported, never
retried), \`fatal\` (the pipeline cannot run: it stops, and the run is
recorded as failed with the code). The CLI prints an error as
\`rekey: CODE message\` with what to do on the next line (\`--debug\` adds the
stack). A record's error is stored in the ledger as
\`{ code, disposition, message, field?, constraint?, textHash? }\` (\`rekey dlq show\`):
the message is rekey's own; when the legacy system gave a text of its own,
only its keyed hash (\`textHash\`) is stored in clear, the text sealed with
the submission (\`rekey dlq show --reveal\`, audited).
`;
  for (const s of ERROR_CATALOGUES) {
    out += `\n## ${s.layer}\n\n${s.about} Defined in \`${s.file}\`.\n\n| code | disposition | what it means | what to do |\n|---|---|---|---|\n`;
    for (const e of [...s.entries].sort((a, b) => a.code.localeCompare(b.code))) out += `| \`${e.code}\` | ${cell(disposition(e))} | ${cell(e.means)} | ${cell(e.hint)} |\n`;
  }
  return out;
}
