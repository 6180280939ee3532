import { describe, expect, it } from 'vitest';
import { argError, build, failure, run } from './test-support.js';
import { TransformFailure, type TransformEnv } from './transform.types.js';

describe('bool', () => {
  it.each(['yes', 'Yes', 'Y', 'true', 'TRUE', '1', 'on', 'Ie', 'oes', 'Ydw', '  yes '])('reads %j as yes', (answer) => {
    expect(run('bool', undefined, answer)).toBe('Y');
  });
  it.each(['no', 'N', 'false', '0', 'OFF', 'Na', 'nac oes', 'Nac  Oes', 'nac ydw'])('reads %j as no', (answer) => {
    expect(run('bool', undefined, answer)).toBe('N');
  });
  it('reads booleans and the numbers 1 and 0', () => {
    expect(run('bool', undefined, true)).toBe('Y');
    expect(run('bool', undefined, false)).toBe('N');
    expect(run('bool', undefined, 1)).toBe('Y');
    expect(run('bool', undefined, 0)).toBe('N');
  });
  it('writes the given codes, of any scalar type', () => {
    expect(run('bool', { true: 'J', false: 'N' }, 'yes')).toBe('J');
    expect(run('bool', { true: 1, false: 0 }, 'no')).toBe(0);
    expect(run('bool', { true: true, false: false }, 'oes')).toBe(true);
  });
  it('recognises extra answers', () => {
    const args = { values: { true: ['Agreed', 'I  consent'], false: ['Declined'] } };
    expect(run('bool', args, 'agreed')).toBe('Y');
    expect(run('bool', args, 'i consent')).toBe('Y');
    expect(run('bool', args, 'DECLINED')).toBe('N');
    expect(run('bool', args, 'yes')).toBe('Y');
  });
  it('fails on anything else with rule bool', () => {
    expect(failure('bool', undefined, 'maybe')).toEqual({ rule: 'bool', message: '"maybe" is not a yes/no answer' });
    expect(failure('bool', undefined, 2)).toEqual({ rule: 'bool', message: '"2" is not a yes/no answer' });
    expect(failure('bool', undefined, ['yes'])).toEqual({ rule: 'bool', message: 'expected a yes/no answer but got a list' });
  });
  it('refuses an extra answer that already means the opposite', () => {
    expect(argError('bool', { values: { true: ['N'] } })).toBe('argument "values" lists "N" as yes, but it already means no');
    expect(argError('bool', { values: { maybe: ['x'] } })).toBe('unknown argument "values.maybe" (expected one of: values.true, values.false)');
  });
});

const titles = (v: unknown): unknown => {
  const map: Record<string, string> = { Mr: 'MR', Mrs: 'MRS' };
  const out = map[String(v)];
  if (out === undefined) throw new TransformFailure('lookup:TITLES', `${JSON.stringify(v)} is not in TITLES`);
  return out;
};

const env: TransformEnv = {
  lookup: (name) => (name === 'TITLES' ? titles : undefined),
  userFunction: (name) => {
    switch (name) {
      case 'double': return (v) => `${String(v)}${String(v)}`;
      case 'noted': return (v, ctx) => { ctx.note('district', 'guessed'); return v; };
      case 'rejects': return () => { throw new TransformFailure('district', 'no district for that postcode'); };
      case 'foreignFailure': return () => { throw Object.assign(new Error('bad code'), { name: 'TransformFailure', rule: 'code' }); };
      case 'crashes': return () => { throw new TypeError('x is undefined'); };
      case 'throwsString': return () => { throw 'oops'; };
      case 'async': return async (v) => v;
      default: return undefined;
    }
  },
};
const ctx = { note: (): void => {} };

describe('lookup', () => {
  it('uses the lookup the environment resolves', () => {
    const fn = build('lookup', 'TITLES', env);
    expect(fn('Mr', ctx)).toBe('MR');
    expect(() => fn('Lord', ctx)).toThrow(new TransformFailure('lookup:TITLES', '"Lord" is not in TITLES'));
  });
  it('refuses an unknown lookup when built', () => {
    expect(argError('lookup', 'COUNTIES', env)).toBe('unknown lookup "COUNTIES" (declare it under lookups:)');
    expect(argError('lookup', { name: 'TITLES' }, env)).toBe('expects the name of a lookup, like { lookup: TITLES }');
  });
});

describe('function', () => {
  it('calls the user function with the value and the context', () => {
    expect(build('function', 'double', env)('ab', ctx)).toBe('abab');
    const notes: string[] = [];
    build('function', 'noted', env)('x', { note: (rule, message) => notes.push(`${rule}: ${message}`) });
    expect(notes).toEqual(['district: guessed']);
  });
  it('passes TransformFailure through, including one from another copy of the class', () => {
    const fail = (name: string): unknown => {
      try {
        return build('function', name, env)('x', ctx);
      } catch (e) {
        return e instanceof TransformFailure ? { rule: e.rule, message: e.message } : e;
      }
    };
    expect(fail('rejects')).toEqual({ rule: 'district', message: 'no district for that postcode' });
    expect(fail('foreignFailure')).toEqual({ rule: 'code', message: 'bad code' });
    expect(fail('crashes')).toEqual({ rule: 'function', message: 'x is undefined' });
    expect(fail('throwsString')).toEqual({ rule: 'function', message: 'oops' });
    expect(fail('async')).toEqual({ rule: 'function', message: 'function async returned a Promise; user functions must be synchronous' });
  });
  it('refuses an unknown function when built', () => {
    expect(argError('function', 'nope', env)).toBe('unknown function "nope" (the functions module has no export of that name)');
  });
});
