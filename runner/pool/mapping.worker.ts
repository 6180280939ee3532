/**
 * A mapping worker: loads and compiles each mapping once per thread, then
 * parses, keys, hashes and maps whole chunks, answering in text.
 */
import { loadMappingFile } from '../mapping-files.js';
import { contentHash, submissionKey } from '../../pipelines/flow/submission-key.js';
import type { CompiledMapping, MapResult } from '../../mappings/index.js';
import type { BodiesResult, BodiesTask, NdjsonResult, NdjsonTask } from './pool.types.js';

const mappings = new Map<string, Promise<CompiledMapping>>();

function mappingFor(file: string): Promise<CompiledMapping> {
  let m = mappings.get(file);
  if (!m) {
    m = loadMappingFile(file).then((l) => {
      if (!l.compiled) throw new Error(`mapping ${file} has problems: ${l.problems.map((p) => p.message).join('; ')}`);
      return l.compiled;
    });
    mappings.set(file, m);
  }
  return m;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

async function ndjson(task: NdjsonTask): Promise<NdjsonResult> {
  const m = await mappingFor(task.mappingFile);
  const text = decoder.decode(task.bytes);
  const out: NdjsonResult = { lines: [], keys: [], hashes: [], bodies: [], results: '', errors: [] };
  const results: MapResult[] = [];
  let line = task.firstLine;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end).replace(/\r$/, '');
    if (raw.trim() !== '') {
      try {
        const body = JSON.parse(raw) as unknown;
        const hash = contentHash(body);
        out.lines.push(line);
        out.keys.push(submissionKey(m, body, hash));
        out.hashes.push(hash);
        out.bodies.push(raw);
        results.push(m.map(body));
      } catch (e) {
        const message = (e as Error).message.replace(/, ".*$/s, '').replace(/ in JSON at position \d+.*/s, '');
        out.errors.push({ line, code: 'INPUT_MALFORMED_RECORD', message: `not valid JSON: ${message}` });
      }
    }
    line++;
    start = end + 1;
  }
  out.results = JSON.stringify(results);
  return out;
}

async function bodies(task: BodiesTask): Promise<BodiesResult> {
  const m = await mappingFor(task.mappingFile);
  const list = JSON.parse(task.json) as unknown[];
  return { results: JSON.stringify(list.map((b) => m.map(b))) };
}

/** Piscina's entry point: one task, one answer. */
export default function run(task: NdjsonTask | BodiesTask): Promise<NdjsonResult | BodiesResult> {
  return task.kind === 'ndjson' ? ndjson(task) : bodies(task);
}
