/**
 * GB (DVLA) driving licence numbers: 16 characters that encode the surname,
 * date of birth and initials. The transform normalises the spelling and checks
 * each part, naming the part that is wrong. Failure rule `driving-licence`.
 */
import { MONTH_NAMES } from './date.calendar.js';
import { TransformFailure, type TransformDef } from './transform.types.js';
import { asText, quote } from './values.js';

const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const SURNAME = /^[A-Z]+9*$/;
const DIGIT = /^\d$/;
const INITIALS = /^[A-Z][A-Z9]$/;
const CHECK = /^[A-Z0-9]{2}$/;
const WHITESPACE = /\s+/g;

/**
 * Why `licence` (upper-case, no spaces) is not a well-formed GB licence
 * number, or `undefined` when it is. Positions: 1-5 surname (letters padded
 * with 9s), 6 decade of birth, 7-8 birth month (+50 for women), 9-10 day of
 * birth, 11 last digit of the birth year, 12-13 initials (9 when there is no
 * second), 14 a digit, 15-16 check characters.
 */
export function drivingLicenceProblem(licence: string): string | undefined {
  if (licence.length !== 16) return `it must have 16 characters, not ${licence.length}`;
  if (!SURNAME.test(licence.slice(0, 5))) return 'characters 1-5 (surname) must be letters, padded with 9s, like MORGA or LEE99';
  if (!DIGIT.test(licence.charAt(5))) return 'character 6 (decade of birth) must be a digit';
  const monthText = licence.slice(6, 8);
  const monthCode = /^\d\d$/.test(monthText) ? Number(monthText) : -1;
  const month = monthCode > 50 ? monthCode - 50 : monthCode;
  if (month < 1 || month > 12) return 'characters 7-8 (month of birth) must be 01 to 12, or 51 to 62 for a woman';
  const dayText = licence.slice(8, 10);
  const day = /^\d\d$/.test(dayText) ? Number(dayText) : -1;
  if (day < 1 || day > 31) return 'characters 9-10 (day of birth) must be 01 to 31';
  if (!DIGIT.test(licence.charAt(10))) return 'character 11 (last digit of the year of birth) must be a digit';
  const yearEnd = Number(licence.charAt(5) + licence.charAt(10));
  const monthDays = month === 2 && yearEnd % 4 !== 0 ? 28 : (MONTH_DAYS[month - 1] ?? 31);
  if (day > monthDays) {
    return `characters 9-10 (day of birth) give ${MONTH_NAMES[month - 1]} ${day}, which does not exist${month === 2 ? ` in a year ending ${licence.charAt(5)}${licence.charAt(10)}` : ''}`;
  }
  if (!INITIALS.test(licence.slice(11, 13))) return 'characters 12-13 (initials) must be a letter followed by a letter or 9';
  if (!DIGIT.test(licence.charAt(13))) return 'character 14 must be a digit';
  if (!CHECK.test(licence.slice(14, 16))) return 'characters 15-16 (check characters) must be letters or digits';
  return undefined;
}

/** `drivingLicence`: a GB licence number with any case and spacing becomes "MORGA753116SM9IJ", after checking each part. */
export const drivingLicence: TransformDef = {
  name: 'drivingLicence',
  doc: 'Normalises a GB driving licence number ("morga 753116 sm9ij" becomes "MORGA753116SM9IJ") and checks each part: surname, decade, month (+50 for women), day, year, initials, check characters; the message names the wrong part.',
  create: () => (v) => {
    const s = asText(v, 'driving-licence');
    const licence = s.replace(WHITESPACE, '').toUpperCase();
    const problem = drivingLicenceProblem(licence);
    if (problem !== undefined) throw new TransformFailure('driving-licence', `${quote(s)} is not a valid driving licence number: ${problem}`);
    return licence;
  },
};
