/**
 * Located problems in definition files (mappings, pipelines, golden
 * cases), reported the way editors and CI annotate: `file:line:col`. Pure.
 */

/** A place in a source file, 1-based, as the YAML parser reports it. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** One problem in a definition file, located for `file:line:col` output. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  /** Path in the document, e.g. `fields.SURNAME.transform[2]`. */
  path: string;
  message: string;
}

/** Formats a problem the way editors and CI annotate: `file:line:col message`. */
export function formatProblem(p: Problem): string {
  const where = p.path ? ` (at ${p.path})` : '';
  return `${p.file}:${p.line}:${p.col} ${p.message}${where}`;
}
