/**
 * Loads mapping files from disk: the YAML, the lookup CSVs it names and its
 * functions module (TypeScript through tsx, or JavaScript), then hands them
 * to the pure mapping layer.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileMapping, parseMapping, MappingInvalidError, type LoadedMapping, type Problem } from '../mappings/index.js';

/**
 * Reads, checks and compiles the mapping at `path`. Never throws for a
 * problem in the user's files: each is returned with file, line and column.
 *
 * With `checked`, the version (`sha256:...`) a caller already checked in
 * full (a worker thread is handed the version the main thread loaded), the
 * file is first read without the check against the mapping's schema; that
 * reading is used only when it compiles to exactly `checked`, and
 * otherwise the file is read again with every check.
 */
export async function loadMappingFile(path: string, checked?: string): Promise<LoadedMapping> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return { problems: [fileProblem(path, `cannot read the mapping: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)] };
  }
  if (checked !== undefined) {
    const trusted = await compileText(path, text, true).catch(() => undefined);
    if (trusted?.compiled?.version === checked) return trusted;
  }
  return compileText(path, text, false);
}

/** Parses (with or without the schema check) and compiles a mapping's text, reading its related files. */
async function compileText(path: string, text: string, skipSchema: boolean): Promise<LoadedMapping> {
  const parsed = parseMapping(path, text, { skipSchema });
  if (!parsed.spec) return { problems: parsed.problems };
  const dir = dirname(path);
  const readRelated = (rel: string): string | undefined => {
    try {
      return readFileSync(resolve(dir, rel), 'utf8');
    } catch {
      return undefined;
    }
  };
  let functions: Record<string, unknown> | undefined;
  let functionsSource: string | undefined;
  if (parsed.spec.functions !== undefined) {
    const modPath = resolve(dir, parsed.spec.functions);
    functionsSource = readRelated(parsed.spec.functions);
    const pos = parsed.source.pos(['functions']);
    if (functionsSource === undefined) {
      return { problems: [{ file: path, line: pos.line, col: pos.col, path: 'functions', message: `cannot read functions module "${parsed.spec.functions}"` }] };
    }
    try {
      functions = (await importModule(modPath)) as Record<string, unknown>;
    } catch (e) {
      const message = `cannot load functions module "${parsed.spec.functions}": ${(e as Error).message.split('\n')[0]}`;
      return { problems: [{ file: path, line: pos.line, col: pos.col, path: 'functions', message }] };
    }
  }
  try {
    const input = { readRelated, document: parsed.source.value, ...(functions ? { functions } : {}), ...(functionsSource ? { functionsSource } : {}) };
    return { compiled: compileMapping(parsed.spec, input), problems: [] };
  } catch (e) {
    if (e instanceof MappingInvalidError) return { problems: e.problems };
    throw e;
  }
}

async function importModule(absPath: string): Promise<unknown> {
  if (/\.(c|m)?ts$/.test(absPath)) {
    const { tsImport } = await import('tsx/esm/api');
    return tsImport(pathToFileURL(absPath).href, import.meta.url);
  }
  return import(pathToFileURL(absPath).href);
}

/** A problem about a file as a whole (it could not be read at all). */
export function fileProblem(file: string, message: string): Problem {
  return { file, line: 1, col: 1, path: '', message };
}
