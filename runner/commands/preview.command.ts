/**
 * `rekey preview MAPPING SUBMISSIONS`: maps every submission of a JSON,
 * NDJSON, CSV or XML file and shows each mapped record, or each record's
 * errors, without delivering anything.
 */
import type { Command } from 'commander';
import { readFileRecords } from '../../connectors/file-inbox/readers/index.js';
import { formatProblem, type CompiledMapping, type MapResult } from '../../mappings/index.js';
import { loadMappingFile } from '../mapping-files.js';
import { maskRecord, renderResult, type PreviewItem } from '../preview-output.js';
import { missingPathHints } from '../preview-hints.js';
import type { CommandResult } from '../cli.js';
import type { InputFormat } from '../../connectors/connector.types.js';

interface PreviewOptions {
  json?: boolean;
  format?: InputFormat;
  encoding?: 'utf-8' | 'windows-1252' | 'latin1';
  recordPath?: string;
  csvShape?: 'rows' | 'govuk-forms';
  formName?: string;
  relaxQuotes?: boolean;
  limit?: number;
  maskPii?: boolean;
  strict?: boolean;
}

/**
 * Maps each record of `file` with `mapping`, yielding one preview item per
 * record or unreadable record. A CSV is read as the `file` source reads it
 * by default: plain rows (`csvShape: 'govuk-forms'` for a GOV.UK Forms export).
 */
export async function* previewRecords(mapping: CompiledMapping, file: string, opts: PreviewOptions): AsyncGenerator<PreviewItem> {
  const read = {
    ...(opts.format ? { format: opts.format } : {}),
    ...(opts.encoding ? { encoding: opts.encoding } : {}),
    csv: { shape: opts.csvShape ?? 'rows', ...(opts.formName ? { formName: opts.formName } : {}), ...(opts.relaxQuotes ? { relaxQuotes: true } : {}) },
    xml: { recordPath: opts.recordPath ?? 'submissions.submission' },
  };
  let n = 0;
  for await (const item of readFileRecords(file, read)) {
    if (opts.limit !== undefined && n >= opts.limit) break;
    n++;
    if (!item.ok) {
      yield { at: item.at, unreadable: item.error };
      continue;
    }
    const result: MapResult = mapping.map(item.value);
    const key = mapping.keyOf(item.value);
    const hints = missingPathHints(mapping.spec, item.value, result);
    yield {
      at: item.at,
      ...(key !== undefined ? { key } : {}),
      result: opts.maskPii ? maskRecord(result, mapping.piiFields) : result,
      ...(hints.length ? { hints } : {}),
    };
  }
}

/** Registers `preview` on the program. */
export function previewCommand(program: Command, result: CommandResult): void {
  program
    .command('preview')
    .description('map sample submissions and show the records (or errors) they give')
    .argument('<mapping>', 'mapping file (YAML)')
    .argument('<submissions>', 'submissions file: .json, .ndjson, .csv or .xml')
    .option('--json', 'machine-readable output')
    .option('--format <format>', 'input format when the extension does not say: json, ndjson, csv, xml')
    .option('--encoding <encoding>', 'input encoding: utf-8, windows-1252, latin1', 'utf-8')
    .option('--record-path <path>', 'XML: path of the repeating record element', 'submissions.submission')
    .option('--csv-shape <shape>', 'CSV: rows (plain rows, as the file source reads them by default) or govuk-forms (a GOV.UK Forms export, csv.shape: govuk-forms)', 'rows')
    .option('--form-name <name>', 'CSV: the form name, which GOV.UK Forms CSV exports do not carry')
    .option('--relax-quotes', 'CSV: keep a quote inside an unquoted field as it stands (csv.relaxQuotes)')
    .option('--limit <n>', 'preview at most n records', (v) => Number.parseInt(v, 10))
    .option('--mask-pii', 'show fields marked pii: true as ***')
    .option('--strict', 'exit 1 when any record is rejected or unreadable')
    .action(async (mappingFile: string, file: string, opts: PreviewOptions) => {
      const loaded = await loadMappingFile(mappingFile);
      if (!loaded.compiled) {
        for (const p of loaded.problems) process.stderr.write(`${formatProblem(p)}\n`);
        result.code = 1;
        return;
      }
      const items: PreviewItem[] = [];
      const counts = { mapped: 0, rejected: 0, unreadable: 0 };
      for await (const item of previewRecords(loaded.compiled, file, opts)) {
        if (item.unreadable) counts.unreadable++;
        else if (item.result?.ok) counts.mapped++;
        else counts.rejected++;
        if (opts.json) items.push(item);
        else process.stdout.write(renderResult(item));
      }
      const { name } = loaded.compiled.spec;
      if (opts.json) {
        const doc = { mapping: name, version: loaded.compiled.version, file, summary: counts, records: items };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      } else {
        process.stdout.write(`\n${name} (${loaded.compiled.version.slice(0, 19)}): ${counts.mapped} mapped, ${counts.rejected} rejected, ${counts.unreadable} unreadable\n`);
      }
      result.code = opts.strict && (counts.rejected || counts.unreadable) ? 1 : 0;
    });
}
