/**
 * Reading an acknowledgement file and reconciling it record by record with
 * the journal entry of the data file it answers: pure functions, no I/O.
 * Every record of the data file ends up accepted, rejected (with the
 * legacy system's reason) or unanswered; lines that cannot be read, name a
 * record the file does not have, or answer a record twice are problems,
 * each with its line number.
 */
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { scrubMessage } from '../../../lib/redact.js';
import { ACK_DEFAULTS, type AckColumn, type AckConfig } from './ack.config.js';

/** What the legacy system said about one record. */
export type AckResult = { key: string; record: number; status: 'accepted' } | { key: string; record: number; status: 'rejected'; reason: string };

/** A line of the acknowledgement file that could not be used. */
export interface AckProblem {
  line: number;
  message: string;
}

/** The reconciliation of one data file. */
export interface Reconciliation {
  /** The data file answered. */
  file: string;
  /** The acknowledgement file. */
  ack: string;
  results: AckResult[];
  /** Keys of records the file did not answer, in record order. */
  unanswered: string[];
  problems: AckProblem[];
}

/** The journal facts reconciliation needs: the data file's name, sequence number and keys in record order. */
export interface DroppedFile {
  name: string;
  seq: number;
  keys: readonly string[];
}

/** The name of the acknowledgement file that answers `file`, from the `match` template. */
export function ackNameFor(match: string, file: Pick<DroppedFile, 'name' | 'seq'>): string {
  const dot = file.name.lastIndexOf('.');
  const base = dot > 0 ? file.name.slice(0, dot) : file.name;
  return match.replace(/\{(name|base|seq)(?::([1-9]\d?))?\}/g, (_m, what: string, width?: string) =>
    what === 'name' ? file.name : what === 'base' ? base : String(file.seq).padStart(width === undefined ? 1 : Number(width), '0'),
  );
}

/** Pairs acknowledgement files found in a folder with the data files they answer (by the `match` template); unmatched names are left out. */
export function matchAcks<F extends Pick<DroppedFile, 'name' | 'seq'>>(match: string, files: readonly F[], found: readonly string[]): { file: F; ack: string }[] {
  const present = new Set(found);
  return files.flatMap((file) => {
    const ack = ackNameFor(match, file);
    return present.has(ack) ? [{ file, ack }] : [];
  });
}

type Row = { line: number; get(c: AckColumn | undefined): string | undefined };

function rows(text: string, config: AckConfig): Row[] {
  if ((config.format ?? ACK_DEFAULTS.format) === 'csv') {
    const header = config.header ?? ACK_DEFAULTS.header;
    const records = parse(text, { delimiter: config.delimiter ?? ACK_DEFAULTS.delimiter, relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as { record: string[]; info: { lines: number } }[];
    const names = header ? (records.shift()?.record ?? []) : [];
    return records.map(({ record, info }) => ({
      line: info.lines,
      get: (c) => {
        if (c?.column === undefined) return undefined;
        const i = typeof c.column === 'number' ? c.column - 1 : names.indexOf(c.column);
        return i < 0 ? undefined : record[i];
      },
    }));
  }
  return text
    .split(/\r\n|\n|\r/)
    .map((l, i) => ({ l, line: i + 1 }))
    .filter(({ l }) => l !== '' && (config.linePrefix === undefined || l.startsWith(config.linePrefix)))
    .map(({ l, line }) => ({ line, get: (c) => (c?.start === undefined ? undefined : l.slice(c.start - 1, c.start - 1 + (c.length ?? l.length))) }));
}

/** Decodes an acknowledgement file's bytes in its declared encoding (a UTF-8 byte order mark is dropped). */
export function decodeAck(bytes: Buffer, config: AckConfig): string {
  const enc = config.encoding ?? ACK_DEFAULTS.encoding;
  return iconv.decode(bytes, enc === 'utf-8-bom' ? 'utf-8' : enc);
}

/** Reconciles the text of acknowledgement file `ack` with the data file it answers. */
export function reconcileAck(file: DroppedFile, ack: string, text: string, config: AckConfig): Reconciliation {
  const results: AckResult[] = [];
  const problems: AckProblem[] = [];
  const seen = new Map<number, number>();
  const accepted = new Set(config.accepted.map((s) => s.trim()));
  const rejected = new Set(config.rejected.map((s) => s.trim()));
  let all: Row[];
  try {
    all = rows(text, config);
  } catch (e) {
    return { file: file.name, ack, results, unanswered: [...file.keys], problems: [{ line: 0, message: `cannot be read as ${config.format ?? ACK_DEFAULTS.format}: ${(e as Error).message}` }] };
  }
  for (const row of all) {
    const rawRecord = row.get(config.record)?.trim() ?? '';
    if (!/^\d+$/.test(rawRecord)) {
      problems.push({ line: row.line, message: `record number "${rawRecord}" is not a number` });
      continue;
    }
    const n = Number(rawRecord);
    const key = file.keys[n - 1];
    if (key === undefined) {
      problems.push({ line: row.line, message: `record ${n} is not in ${file.name}, which has ${file.keys.length}` });
      continue;
    }
    const status = row.get(config.status)?.trim() ?? '';
    if (!accepted.has(status) && !rejected.has(status)) {
      problems.push({ line: row.line, message: `status "${status}" of record ${n} is neither accepted (${[...accepted].join(', ')}) nor rejected (${[...rejected].join(', ')})` });
      continue;
    }
    const earlier = seen.get(n);
    if (earlier !== undefined) {
      problems.push({ line: row.line, message: `record ${n} was already answered on line ${earlier}` });
      continue;
    }
    seen.set(n, row.line);
    if (accepted.has(status)) results.push({ key, record: n, status: 'accepted' });
    else results.push({ key, record: n, status: 'rejected', reason: scrubMessage(row.get(config.reason)?.trim() ?? '') || `rejected with status ${status}` });
  }
  results.sort((a, b) => a.record - b.record);
  const unanswered = file.keys.filter((_k, i) => !seen.has(i + 1));
  return { file: file.name, ack, results, unanswered, problems };
}
