/**
 * Code transforms: yes/no answers to codes (`bool`), the mapping's lookups
 * (`lookup`) and its user functions (`function`). The last two are resolved
 * through the build environment when the mapping is loaded.
 */
import { Args } from './args.js';
import { TransformFailure, type TransformDef } from './transform.types.js';
import { kindOf, quote } from './values.js';

const TRUE_ANSWERS = ['yes', 'y', 'true', '1', 'on', 'ie', 'oes', 'ydw'];
const FALSE_ANSWERS = ['no', 'n', 'false', '0', 'off', 'na', 'nac oes', 'nac ydw'];
const SPACES = /\s+/g;
const CODE = { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] };

function answerKey(s: string): string {
  return s.trim().replace(SPACES, ' ').toLowerCase();
}

/**
 * `bool`: a yes/no answer becomes the `true` code (default "Y") or the
 * `false` code (default "N"). Recognised, in any case: yes/no, y/n,
 * true/false, 1/0, on/off, and Welsh ie/na, oes/nac oes, ydw/nac ydw, plus
 * booleans and the numbers 1 and 0; `values` adds more. Anything else fails
 * with rule `bool`.
 */
export const bool: TransformDef = {
  name: 'bool',
  doc: 'Turns a yes/no answer (yes/no, y/n, true/false, 1/0, on/off, Welsh ie/na, oes/nac oes, ydw/nac ydw, any case) into the `true` code (default "Y") or the `false` code (default "N"); `values` adds answers; anything else fails (rule `bool`).',
  args: {
    type: 'object',
    properties: {
      true: { ...CODE, default: 'Y', description: 'the code for yes' },
      false: { ...CODE, default: 'N', description: 'the code for no' },
      values: {
        type: 'object',
        properties: {
          true: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'more answers meaning yes' },
          false: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'more answers meaning no' },
        },
        additionalProperties: false,
        description: 'extra answers recognised, compared without regard to case',
      },
    },
    additionalProperties: false,
  },
  argsOptional: true,
  example: { true: 'Y', false: 'N', values: { true: ['Agreed'] } },
  create(args) {
    const a = Args.of(args, ['true', 'false', 'values']);
    const codes = { true: a.has('true') ? a.raw('true') : 'Y', false: a.has('false') ? a.raw('false') : 'N' };
    const answers = new Map<string, boolean>();
    const add = (words: readonly string[], meaning: boolean): void => {
      for (const w of words) {
        const key = answerKey(w);
        if (answers.get(key) === !meaning) a.fail('values', `lists "${w}" as ${meaning ? 'yes' : 'no'}, but it already means ${meaning ? 'no' : 'yes'}`);
        answers.set(key, meaning);
      }
    };
    add(TRUE_ANSWERS, true);
    add(FALSE_ANSWERS, false);
    const extra = Args.of(a.raw('values'), ['true', 'false'], undefined, 'values.');
    if (extra.has('true')) add(extra.stringList('true'), true);
    if (extra.has('false')) add(extra.stringList('false'), false);
    return (v) => {
      let meaning: boolean | undefined;
      if (typeof v === 'boolean') meaning = v;
      else if (typeof v === 'string') meaning = answers.get(answerKey(v));
      else if (v === 1 || v === 0) meaning = v === 1;
      else if (typeof v !== 'number') throw new TransformFailure('bool', `expected a yes/no answer but got ${kindOf(v)}`);
      if (meaning === undefined) throw new TransformFailure('bool', `${quote(String(v))} is not a yes/no answer`);
      return meaning ? codes.true : codes.false;
    };
  },
};

/**
 * `lookup: NAME`: the mapping's lookup NAME, as resolved by the environment
 * (its `missing` setting decides what an unknown code does; its failures use
 * rule `lookup:NAME`). `create` throws for an unknown name.
 */
export const lookup: TransformDef = {
  name: 'lookup',
  doc: 'Replaces a code through the lookup of that name declared under `lookups:`; what happens to a value not in it follows the lookup\'s `missing` setting (rule `lookup:NAME`).',
  args: { type: 'string', minLength: 1, description: 'name of a lookup declared under `lookups:`' },
  example: 'TITLES',
  create(args, env) {
    if (typeof args !== 'string' || args === '') throw new Error('expects the name of a lookup, like { lookup: TITLES }');
    const fn = env.lookup(args);
    if (fn === undefined) throw new Error(`unknown lookup "${args}" (declare it under lookups:)`);
    return fn;
  },
};

function isFailureLike(e: unknown): e is Error & { rule: string } {
  return e instanceof Error && e.name === 'TransformFailure' && typeof (e as { rule?: unknown }).rule === 'string';
}

/**
 * `function: NAME`: calls the named export of the mapping's functions module
 * as `(value, ctx) => value`. It may throw `TransformFailure(rule, message)`;
 * any other exception fails with rule `function` and the exception's message,
 * and so does returning a Promise.
 * `create` throws for an unknown name.
 */
export const userFunction: TransformDef = {
  name: 'function',
  doc: 'Calls a function exported by the mapping\'s `functions` module with the value; it may throw `TransformFailure(rule, message)`, and any other error fails with rule `function`. Functions must be synchronous.',
  args: { type: 'string', pattern: '^[A-Za-z_$][A-Za-z0-9_$]*$', description: 'name of an export of the functions module' },
  example: 'districtCode',
  create(args, env) {
    if (typeof args !== 'string' || args === '') throw new Error('expects the name of a user function, like { function: districtCode }');
    const name = args;
    const fn = env.userFunction(name);
    if (fn === undefined) throw new Error(`unknown function "${name}" (the functions module has no export of that name)`);
    return (v, ctx) => {
      let out: unknown;
      try {
        out = fn(v, ctx);
      } catch (e) {
        if (e instanceof TransformFailure) throw e;
        if (isFailureLike(e)) throw new TransformFailure(e.rule, e.message);
        throw new TransformFailure('function', e instanceof Error ? e.message : String(e));
      }
      if (typeof (out as { then?: unknown } | null)?.then === 'function') {
        throw new TransformFailure('function', `function ${name} returned a Promise; user functions must be synchronous`);
      }
      return out;
    };
  },
};

/** The code transforms, in reference order. */
export const CODE_TRANSFORMS: readonly TransformDef[] = [bool, lookup, userFunction];
