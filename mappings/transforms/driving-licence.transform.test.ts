import { describe, expect, it } from 'vitest';
import { failure, run } from './test-support.js';

const problem = (input: string, text: string): { rule: string; message: string } => ({
  rule: 'driving-licence',
  message: `"${input}" is not a valid driving licence number: ${text}`,
});

describe('drivingLicence', () => {
  it('normalises case and spacing', () => {
    expect(run('drivingLicence', undefined, 'morga 753116 sm9ij')).toBe('MORGA753116SM9IJ');
    expect(run('drivingLicence', undefined, 'MORGA753116SM9IJ')).toBe('MORGA753116SM9IJ');
  });
  it('accepts short surnames padded with 9s, men\'s months and one initial', () => {
    expect(run('drivingLicence', undefined, 'LEE99801017J99AB')).toBe('LEE99801017J99AB');
    expect(run('drivingLicence', undefined, 'O9999812310A9901')).toBe('O9999812310A9901');
  });
  it('accepts 29 February only in years that can be leap years', () => {
    expect(run('drivingLicence', undefined, 'SMITH802294JJ9AB')).toBe('SMITH802294JJ9AB');
    expect(run('drivingLicence', undefined, 'SMITH002290JJ9AB')).toBe('SMITH002290JJ9AB');
    expect(failure('drivingLicence', undefined, 'SMITH802297JJ9AB')).toEqual(
      problem('SMITH802297JJ9AB', 'characters 9-10 (day of birth) give February 29, which does not exist in a year ending 87'),
    );
  });
  it.each([
    ['MORGA753116SM9I', 'it must have 16 characters, not 15'],
    ['MORGA753116SM9IJ35', 'it must have 16 characters, not 18'],
    ['MOR9A753116SM9IJ', 'characters 1-5 (surname) must be letters, padded with 9s, like MORGA or LEE99'],
    ['9ORGA753116SM9IJ', 'characters 1-5 (surname) must be letters, padded with 9s, like MORGA or LEE99'],
    ['MORGAX53116SM9IJ', 'character 6 (decade of birth) must be a digit'],
    ['MORGA713116SM9IJ', 'characters 7-8 (month of birth) must be 01 to 12, or 51 to 62 for a woman'],
    ['MORGA763116SM9IJ', 'characters 7-8 (month of birth) must be 01 to 12, or 51 to 62 for a woman'],
    ['MORGA700116SM9IJ', 'characters 7-8 (month of birth) must be 01 to 12, or 51 to 62 for a woman'],
    ['MORGA753006SM9IJ', 'characters 9-10 (day of birth) must be 01 to 31'],
    ['MORGA753326SM9IJ', 'characters 9-10 (day of birth) must be 01 to 31'],
    ['MORGA754316SM9IJ', 'characters 9-10 (day of birth) give April 31, which does not exist'],
    ['MORGA75311XSM9IJ', 'character 11 (last digit of the year of birth) must be a digit'],
    ['MORGA7531169M9IJ', 'characters 12-13 (initials) must be a letter followed by a letter or 9'],
    ['MORGA753116S19IJ', 'characters 12-13 (initials) must be a letter followed by a letter or 9'],
    ['MORGA753116SMXIJ', 'character 14 must be a digit'],
    ['MORGA753116SM9I-', 'characters 15-16 (check characters) must be letters or digits'],
  ])('refuses %s: %s', (input, text) => {
    expect(failure('drivingLicence', undefined, input)).toEqual(problem(input, text));
  });
  it('refuses objects', () => {
    expect(failure('drivingLicence', undefined, { n: 1 })).toEqual({ rule: 'driving-licence', message: 'expected text but got an object' });
  });
});
