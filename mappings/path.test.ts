import { describe, expect, it } from 'vitest';
import { parseAnswerRef, parsePath, parseTemplate, PathSyntaxError } from './path.js';

describe('parsePath', () => {
  it('reads keys, indexes, quoted keys and filters', () => {
    expect(parsePath('a.b[0].c').segments).toEqual([
      { kind: 'key', key: 'a' },
      { kind: 'key', key: 'b' },
      { kind: 'index', index: 0 },
      { kind: 'key', key: 'c' },
    ]);
    expect(parsePath('answers[question_id=dob].answer_text').segments).toEqual([
      { kind: 'key', key: 'answers' },
      { kind: 'filter', key: 'question_id', value: 'dob' },
      { kind: 'key', key: 'answer_text' },
    ]);
    expect(parsePath('["What is your name? - Last name"]').segments).toEqual([{ kind: 'key', key: 'What is your name? - Last name' }]);
    expect(parsePath("rows[-1]['a.b']").segments).toEqual([
      { kind: 'key', key: 'rows' },
      { kind: 'index', index: -1 },
      { kind: 'key', key: 'a.b' },
    ]);
    expect(parsePath('answers[question_id="x y"]').segments[1]).toEqual({ kind: 'filter', key: 'question_id', value: 'x y' });
  });

  it('knows the group variables', () => {
    expect(parsePath('$item.postcode')).toMatchObject({ root: '$item', segments: [{ kind: 'key', key: 'postcode' }] });
    expect(parsePath('$position')).toMatchObject({ root: '$position', segments: [] });
    expect(() => parsePath('$index.x')).toThrow('$index is a number and has no parts');
    expect(() => parsePath('$itme.x')).toThrow('unknown variable "$itme"');
  });

  it.each([
    ['__proto__', '"__proto__" may not appear in a path'],
    ['a.constructor', '"constructor" may not appear in a path'],
    ['a["prototype"]', '"prototype" may not appear in a path'],
    ['a[__proto__=x]', '"__proto__" may not appear in a path'],
  ])('refuses %s', (text, message) => {
    expect(() => parsePath(text)).toThrow(message);
  });

  it.each([
    ['', 'empty path', 0],
    ['a..b', 'unexpected "." at character 3', 2],
    ['a.', 'path ends with "."', 1],
    ['a[0', '"[" at character 2 is never closed', 1],
    ['a b', 'expected "." or "[" at character 2', 1],
    ['a[x]', '"[x]" is not an index, a quoted key or a filter like [question_id=dob]', 2],
  ])('reports %j with its offset', (text, message, offset) => {
    try {
      parsePath(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PathSyntaxError);
      expect((e as PathSyntaxError).message).toBe(message);
      expect((e as PathSyntaxError).offset).toBe(offset);
    }
  });
});

describe('parseAnswerRef', () => {
  it('splits question id and part', () => {
    expect(parseAnswerRef('full_name.last_name')).toEqual({ question: 'full_name', part: 'last_name' });
    expect(parseAnswerRef('dob')).toEqual({ question: 'dob' });
    expect(() => parseAnswerRef('a.__proto__')).toThrow('"__proto__" may not appear in a path');
    expect(() => parseAnswerRef('a b')).toThrow('is not an answer reference');
  });
});

describe('parseTemplate', () => {
  it('splits text and paths', () => {
    const pieces = parseTemplate('{{form_name}}-{{ submission_reference }}!');
    expect(pieces.map((p) => ('text' in p ? p.text : 'path' in p ? p.path.text : p.answer))).toEqual(['form_name', '-', 'submission_reference', '!']);
  });
  it('reports an unclosed placeholder and a bad path inside with offsets', () => {
    expect(() => parseTemplate('ab {{x')).toThrow('"{{" is never closed');
    try {
      parseTemplate('ab {{x..y}}');
      expect.unreachable();
    } catch (e) {
      expect((e as PathSyntaxError).offset).toBe(7);
    }
  });
});
