/**
 * A mapping worker: loads and compiles each mapping once per thread (again
 * when the caller expects another version of it; a version the caller
 * already checked is not checked against the schema again) and each chunk parser
 * the chunks name, then parses, keys, hashes and maps whole chunks,
 * answering in text.
 */
import { getPriority, setPriority } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { loadMappingFile } from '../mapping-files.js';
import { chunkParser, mapChunk } from '../../pipelines/flow/chunk-map.js';
import type { CompiledMapping } from '../../mappings/index.js';
import type { BodiesResult, BodiesTask, ChunkResult, ChunkTask } from '../../pipelines/flow/chunk.types.js';

/** How much lower than the thread that started it a mapping worker runs (nice values; 19 is the lowest). */
const WORKER_NICE_INCREMENT = 10;

/**
 * Lowers this thread's scheduling priority (on Linux the nice value is a
 * thread's own, and `setPriority` without a pid sets the calling thread's):
 * where the cores are all busy, the threads that record submissions (the
 * ledger's), drive the target and answer HTTP (the main thread) run first,
 * and mapping, which is ahead of them by a few chunks, takes the rest.
 * On two cores this made the 2-worker pass about 7 % faster (BENCHMARKS.md,
 * "Mapping workers at a lower priority"). Where the system refuses, the
 * worker runs at its given priority: nothing else changes.
 */
function lowerPriority(): void {
  // Only ever a worker's own thread: loaded on a main thread, this module leaves its priority alone.
  if (isMainThread) return;
  try {
    setPriority(Math.min(19, getPriority() + WORKER_NICE_INCREMENT));
  } catch {
    // Not allowed here (a sandbox): the same work, at the same priority as the rest.
  }
}
lowerPriority();

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
