/**
 * A mapping worker: loads and compiles each mapping once per thread (again
 * when the caller expects another version of it; a version the caller
 * already checked is not checked against the schema again) and each chunk parser
 * the chunks name, then parses, keys, hashes and maps whole chunks,
 * answering in text.
 */
import { loadMappingFile } from '../mapping-files.js';
import { chunkParser, mapChunk } from '../../pipelines/flow/chunk-map.js';
import type { CompiledMapping } from '../../mappings/index.js';
import type { BodiesResult, BodiesTask, ChunkResult, ChunkTask } from '../../pipelines/flow/chunk.types.js';

const mappings = new Map<string, Promise<CompiledMapping>>();

/** Compiles `file`; with `checked`, the version the caller checked in full, without checking it against the schema again when it still is that version. */
function compile(file: string, checked?: string): Promise<CompiledMapping> {
  const m = loadMappingFile(file, checked).then((l) => {
    if (!l.compiled) throw new Error(`mapping ${file} has problems: ${l.problems.map((p) => p.message).join('; ')}`);
    return l.compiled;
  });
  mappings.set(file, m);
  m.catch(() => mappings.delete(file));
  return m;
}

async function mappingFor(task: ChunkTask | BodiesTask): Promise<CompiledMapping> {
  let m = await (mappings.get(task.mappingFile) ?? compile(task.mappingFile, task.mappingVersion));
  if (task.mappingVersion !== undefined && m.version !== task.mappingVersion) {
    m = await compile(task.mappingFile, task.mappingVersion);
    if (m.version !== task.mappingVersion) throw new Error(`mapping ${task.mappingFile} changed while running (${task.mappingVersion} expected, ${m.version} on disk)`);
  }
  return m;
}

async function chunk(task: ChunkTask): Promise<ChunkResult> {
  const [mapping, parse] = await Promise.all([mappingFor(task), chunkParser(task.parser)]);
  return mapChunk(mapping, parse, task);
}

async function bodies(task: BodiesTask): Promise<BodiesResult> {
  const m = await mappingFor(task);
  const list = JSON.parse(task.json) as unknown[];
  return { results: JSON.stringify(list.map((b) => m.map(b))) };
}

/** Piscina's entry point: one task, one answer. */
export default function run(task: ChunkTask | BodiesTask): Promise<ChunkResult | BodiesResult> {
  return task.kind === 'chunk' ? chunk(task) : bodies(task);
}
