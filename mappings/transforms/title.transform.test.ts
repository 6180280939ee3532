import { describe, expect, it } from 'vitest';
import { failure, run } from './test-support.js';

const title = (text: string, args?: unknown): unknown => run('title', args, text);

describe('title', () => {
  it('capitalises each word and each hyphenated part', () => {
    expect(title('JOHN SMITH-JONES')).toBe('John Smith-Jones');
    expect(title('mary-kate  o\'neill')).toBe("Mary-Kate  O'Neill");
  });
  it('capitalises after a one-letter prefix and apostrophe, with any apostrophe character', () => {
    expect(title("o'connor")).toBe("O'Connor");
    expect(title('d’arcy')).toBe('D’Arcy');
    expect(title("n'diaye")).toBe("N'Diaye");
  });
  it('does not capitalise a possessive or a longer prefix', () => {
    expect(title("john's")).toBe("John's");
    expect(title("ya'qub")).toBe("Ya'qub");
  });
  it('handles Mc always and Mac only when asked', () => {
    expect(title('mcdonald')).toBe('McDonald');
    expect(title('MACLEOD')).toBe('Macleod');
    expect(title('MACLEOD', { mac: true })).toBe('MacLeod');
    expect(title('macey mack', { mac: true })).toBe('Macey Mack');
    expect(title('mc')).toBe('Mc');
  });
  it('keeps Welsh letters and accents', () => {
    expect(title('LLŶR AP GWILYM')).toBe('Llŷr Ap Gwilym');
    expect(title('siân ŵyr')).toBe('Siân Ŵyr');
  });
  it('lower-cases Welsh ap/ab/ferch after the first word when welsh is set', () => {
    expect(title('rhys ap gruffydd', { welsh: true })).toBe('Rhys ap Gruffydd');
    expect(title('ap rhys', { welsh: true })).toBe('Ap Rhys');
    expect(title('nest ferch rhys', { welsh: true })).toBe('Nest ferch Rhys');
  });
  it('lower-cases particles after the first word when asked', () => {
    expect(title('LUDWIG VAN DER BERG')).toBe('Ludwig Van Der Berg');
    expect(title('LUDWIG VAN DER BERG', { particles: true })).toBe('Ludwig van der Berg');
    expect(title('maria de la cruz', { particles: true })).toBe('Maria de la Cruz');
    expect(title('VAN HALEN', { particles: true })).toBe('Van Halen');
    expect(title('anna von trapp de la cruz', { particles: ['von'] })).toBe('Anna von Trapp De La Cruz');
  });
  it('does not capitalise a letter after a digit', () => {
    expect(title('1ST FLOOR, 10A HIGH STREET')).toBe('1st Floor, 10a High Street');
  });
  it('capitalises after leading punctuation', () => {
    expect(title('(jim)')).toBe('(Jim)');
  });
  it('refuses objects', () => {
    expect(failure('title', undefined, { a: 1 }).rule).toBe('title');
  });
});
