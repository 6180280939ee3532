/**
 * `rekey test MAPPING...`: runs each mapping's golden cases and reports every
 * difference field by field. A mapping named runs the cases of its `tests:`
 * file, or of `<mapping>.cases.yaml` beside it; a cases file named runs that
 * file's cases (against the mapping its `mapping:` key names).
 */
import { access, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { formatProblem, type CompiledMapping } from '../../mappings/index.js';
import { compareCase, parseCases, type CaseDiff, type GoldenCase } from '../../mappings/golden.js';
import { parse as parseYaml } from 'yaml';
import { YamlSource } from '../../lib/yaml-source.js';
import { loadMappingFile } from '../mapping-files.js';
import { kindOf } from './validate.command.js';
import type { CommandResult } from '../cli.js';

/** The outcome of one golden case. */
export interface CaseOutcome {
  name: string;
  passed: boolean;
  diffs: CaseDiff[];
  error?: string;
}

/** What one argument of `rekey test` asks to run: a mapping, and the cases file named (if one was). */
export interface TestTarget {
  mapping: string;
  /** The cases file named on the command line; absent when a mapping was named (its own cases run). */
  cases?: string;
}

/**
 * What `args` ask to run: a mapping as it is (its own cases), a cases file
 * against the mapping its `mapping:` key names (else the mapping beside it);
 * each pair once, in order.
 */
export async function testTargetsOf(args: string[]): Promise<TestTarget[]> {
  const out: TestTarget[] = [];
  for (const a of args) {
    let target: TestTarget = { mapping: a };
    const text = await readFile(a, 'utf8').catch(() => undefined);
    if (text !== undefined && kindOf(text) === 'cases') {
      const named = (parseYaml(text, { logLevel: 'silent' }) as { mapping?: unknown }).mapping;
      target = { mapping: typeof named === 'string' ? join(dirname(a), named) : a.replace(/\.cases\.ya?ml$/, '.yaml'), cases: a };
    }
    const same = (t: TestTarget) => resolve(t.mapping) === resolve(target.mapping) && (t.cases === undefined) === (target.cases === undefined) && (t.cases === undefined || resolve(t.cases) === resolve(target.cases!));
    if (!out.some(same)) out.push(target);
  }
  return out;
}

/** Where a mapping's cases are: its `tests:` key, else `<name>.cases.yaml` beside it. */
export function casesFileOf(mappingFile: string, compiled: CompiledMapping): string {
  if (compiled.spec.tests !== undefined) return resolve(dirname(mappingFile), compiled.spec.tests);
  return mappingFile.replace(/\.ya?ml$/, '') + '.cases.yaml';
}

/**
 * A case's submission: inline, or read from its `input` file (relative to
 * the cases file), YAML when it ends in `.yaml`/`.yml`, else JSON.
 */
export async function loadInput(c: GoldenCase, casesFile: string): Promise<unknown> {
  if (c.input === undefined) return c.submission;
  const file = resolve(dirname(casesFile), c.input);
  const text = await readFile(file, 'utf8');
  if (!/\.ya?ml$/i.test(file)) return JSON.parse(text) as unknown;
  const src = new YamlSource(file, text);
  if (src.problems.length) throw new Error(`input ${src.problems.map(formatProblem).join('; ')}`);
  return src.value;
}

/** Runs every case of `casesFile` against `compiled`. Problems in the cases file are returned as strings. */
export async function runCases(compiled: CompiledMapping, casesFile: string): Promise<{ outcomes: CaseOutcome[]; problems: string[] }> {
  const parsed = parseCases(casesFile, await readFile(casesFile, 'utf8'));
  if (parsed.problems.length) return { outcomes: [], problems: parsed.problems.map(formatProblem) };
  const outcomes: CaseOutcome[] = [];
  for (const c of parsed.cases) {
    try {
      const diffs = compareCase(c.expect, compiled.map(await loadInput(c, casesFile)));
      outcomes.push({ name: c.name, passed: diffs.length === 0, diffs });
    } catch (e) {
      outcomes.push({ name: c.name, passed: false, diffs: [], error: `${c.pos.file}:${c.pos.line}:${c.pos.col} ${(e as Error).message}` });
    }
  }
  return { outcomes, problems: [] };
}

const show = (v: unknown) => (typeof v === 'string' && v.startsWith('(') ? v : JSON.stringify(v));

/** Registers `test` on the program. */
export function testCommand(program: Command, result: CommandResult): void {
  program
    .command('test')
    .description("run mappings' golden cases and report differences field by field")
    .argument('<mappings...>', 'mapping files, or their cases files (YAML)')
    .option('--json', 'machine-readable output')
    .action(async (files: string[], opts: { json?: boolean }) => {
      let passed = 0;
      let failed = 0;
      const report: unknown[] = [];
      for (const target of await testTargetsOf(files)) {
        const file = target.mapping;
        const loaded = await loadMappingFile(file);
        if (!loaded.compiled) {
          for (const p of loaded.problems) process.stderr.write(`${formatProblem(p)}\n`);
          failed++;
          continue;
        }
        const casesFile = target.cases ?? casesFileOf(file, loaded.compiled);
        if (!(await access(casesFile).then(() => true, () => false))) {
          process.stderr.write(`${file}: no golden cases (looked for ${casesFile})\n`);
          failed++;
          continue;
        }
        const { outcomes, problems } = await runCases(loaded.compiled, casesFile);
        for (const p of problems) process.stderr.write(`${p}\n`);
        if (problems.length) failed++;
        if (!opts.json) process.stdout.write(`${file}${target.cases !== undefined ? ` (cases: ${target.cases})` : ''}\n`);
        for (const o of outcomes) {
          if (o.passed) passed++;
          else failed++;
          if (opts.json) continue;
          process.stdout.write(`  ${o.passed ? '✓' : '✗'} ${o.name}\n`);
          if (o.error) process.stdout.write(`      ${o.error}\n`);
          for (const d of o.diffs) process.stdout.write(`      ${d.path}: expected ${show(d.expected)}, got ${show(d.actual)}\n`);
        }
        report.push({ mapping: file, ...(target.cases !== undefined && { casesFile: target.cases }), version: loaded.compiled.version, cases: outcomes });
      }
      if (opts.json) process.stdout.write(`${JSON.stringify({ passed, failed, mappings: report }, null, 2)}\n`);
      else process.stdout.write(`${passed} passed, ${failed} failed\n`);
      result.code = failed ? 1 : 0;
    });
}
