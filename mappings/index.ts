/**
 * The mapping language's public face: load a mapping's text into a compiled
 * function, with every problem located. Pure: callers hand in file contents.
 */
import { parseMapping } from './mapping.loader.js';
import { compileMapping, type CompileInput } from './mapping.compiler.js';
import { MappingInvalidError, type Problem } from './mapping.errors.js';
import type { CompiledMapping } from './mapping.types.js';

export { parseMapping, mappingSchema } from './mapping.loader.js';
export { compileMapping, type CompileInput } from './mapping.compiler.js';
export { formatProblem, MappingInvalidError, type Problem, type ErrorData, type Disposition } from './mapping.errors.js';
export { TransformFailure, type TransformCtx } from './transforms/transform.types.js';
export { compileTransformChain } from './transforms/chain.js';
export type * from './mapping.types.js';

/** A mapping loaded from text: compiled when it has no problems. */
export interface LoadedMapping {
  compiled?: CompiledMapping;
  problems: Problem[];
}

/**
 * Parses, checks and compiles a mapping in one go. Every problem found (in
 * the YAML, the schema, paths, transform arguments, lookups, functions) is
 * returned, each with file, line and column; nothing is thrown for them.
 */
export function loadMapping(file: string, text: string, input: Omit<CompileInput, 'document'> = {}): LoadedMapping {
  const parsed = parseMapping(file, text);
  if (!parsed.spec) return { problems: parsed.problems };
  try {
    return { compiled: compileMapping(parsed.spec, { ...input, document: parsed.source.value }), problems: [] };
  } catch (e) {
    if (e instanceof MappingInvalidError) return { problems: e.problems };
    throw e;
  }
}
