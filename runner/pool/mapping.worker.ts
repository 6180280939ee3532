/**
 * A mapping worker: loads and compiles each mapping once per thread, then
 * parses, keys, hashes and maps whole chunks, answering in text.
 */
import { loadMappingFile } from '../mapping-files.js';
import { mapNdjsonChunk } from '../../pipelines/flow/chunk-map.js';
import type { CompiledMapping } from '../../mappings/index.js';
import type { BodiesResult, BodiesTask, NdjsonResult, NdjsonTask } from '../../pipelines/flow/chunk.types.js';

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

async function ndjson(task: NdjsonTask): Promise<NdjsonResult> {
  return mapNdjsonChunk(await mappingFor(task.mappingFile), task);
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
