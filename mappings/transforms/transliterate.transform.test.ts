import { describe, expect, it } from 'vitest';
import { argError, failure, runWithNotes } from './test-support.js';

const latin1 = (text: string): { value: unknown; notes: string[] } => runWithNotes('transliterate', undefined, text);

describe('transliterate', () => {
  it('keeps text the charset holds, with no notes', () => {
    expect(latin1('José Muñoz Müller Ærø café ß')).toEqual({ value: 'José Muñoz Müller Ærø café ß', notes: [] });
    expect(latin1('plain ascii')).toEqual({ value: 'plain ascii', notes: [] });
  });
  it('replaces Welsh ŵ and ŷ, Polish ł, smart quotes and dashes, noting each once', () => {
    expect(latin1('Llŷr ŵyr “Wałęsa” – ‘ŵ’')).toEqual({
      value: 'Llyr wyr "Walesa" - \'w\'',
      notes: [
        'transliterate: replaced "ŷ" with "y"',
        'transliterate: replaced "ŵ" with "w"',
        'transliterate: replaced "“" with "\\""',
        'transliterate: replaced "ł" with "l"',
        'transliterate: replaced "ę" with "e"',
        'transliterate: replaced "”" with "\\""',
        'transliterate: replaced "–" with "-"',
        'transliterate: replaced "‘" with "\'"',
        'transliterate: replaced "’" with "\'"',
      ],
    });
  });
  it('composes decomposed accents before deciding', () => {
    expect(latin1('Jose\u0301')).toEqual({ value: 'José', notes: [] });
  });
  it('drops invisible format characters and stray combining marks, with a note', () => {
    expect(latin1('a\u200bx\u0323')).toEqual({ value: 'ax', notes: ['transliterate: removed "\u200b"', 'transliterate: removed "\u0323"'] });
    expect(latin1('b\u0307')).toEqual({ value: 'b', notes: ['transliterate: replaced "ḃ" with "b"'] });
  });
  it('keeps what windows-1252 adds to latin1', () => {
    expect(runWithNotes('transliterate', 'windows-1252', '“Œuvre” – €5 Ŵ')).toEqual({
      value: '“Œuvre” – €5 W',
      notes: ['transliterate: replaced "Ŵ" with "W"'],
    });
  });
  it('reduces to ASCII', () => {
    expect(runWithNotes('transliterate', { charset: 'ascii' }, 'Siân Straße €5')).toEqual({
      value: 'Sian Strasse EUR5',
      notes: ['transliterate: replaced "â" with "a"', 'transliterate: replaced "ß" with "ss"', 'transliterate: replaced "€" with "EUR"'],
    });
  });
  it('fails on a character with no equivalent', () => {
    expect(failure('transliterate', undefined, 'Hi 😀')).toEqual({
      rule: 'transliterate',
      message: '"Hi 😀" contains "😀", which cannot be written in latin1',
    });
    expect(failure('transliterate', undefined, 'x\ue000').rule).toBe('transliterate');
  });
  it('replaces a character with no equivalent when asked', () => {
    expect(runWithNotes('transliterate', { onUnmappable: 'replace' }, '😀 hi 😀')).toEqual({
      value: '? hi ?',
      notes: ['transliterate: replaced "😀" with "?"'],
    });
    expect(runWithNotes('transliterate', { onUnmappable: 'replace', replacement: '' }, 'a😀').value).toBe('a');
  });
  it('stringifies numbers and refuses objects', () => {
    expect(latin1(12 as unknown as string).value).toBe('12');
    expect(failure('transliterate', undefined, { a: 1 })).toEqual({ rule: 'transliterate', message: 'expected text but got an object' });
  });
  it('refuses bad arguments', () => {
    expect(argError('transliterate', 'utf-8')).toBe('argument "charset" must be one of: latin1, windows-1252, ascii');
    expect(argError('transliterate', { charset: 'ascii', onUnmappable: 'replace', replacement: '¿' })).toBe(
      'argument "replacement" must be storable in ascii',
    );
  });
});
