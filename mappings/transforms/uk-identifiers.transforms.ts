/**
 * UK identifiers: postcodes, National Insurance numbers and phone numbers,
 * normalised to one spelling and validated. Failure rules: `postcode`,
 * `nino`, `phone`. Driving licence numbers are in their own file.
 */
import { createRequire } from 'node:module';
import type { CountryCode } from 'libphonenumber-js';
import { isValid as isValidPostcode } from 'postcode';
import { Args } from './args.js';
import { TransformFailure, type TransformDef } from './transform.types.js';
import { asText, quote } from './values.js';

const WHITESPACE = /\s+/g;

let phoneLib: typeof import('libphonenumber-js') | undefined;
/** libphonenumber-js, loaded when a mapping first uses `phone` (it costs every start of `rekey` about 0.1 s of CPU otherwise). */
function phoneNumbers(): typeof import('libphonenumber-js') {
  return (phoneLib ??= createRequire(import.meta.url)('libphonenumber-js') as typeof import('libphonenumber-js'));
}

/**
 * `postcode`: a UK postcode in any case and spacing (" sw1a1aa") becomes
 * "SW1A 1AA" (or compact, outward or inward code only). Validation is the
 * `postcode` package's: the six standard shapes; GIR 0AA and BFPO numbers are
 * refused.
 */
export const postcode: TransformDef = {
  name: 'postcode',
  doc: 'Normalises and validates a UK postcode: " sw1a1aa" becomes "SW1A 1AA"; `format` picks `spaced` (default), `compact` (SW1A1AA), `outward` (SW1A) or `inward` (1AA). GIR 0AA and BFPO numbers are refused.',
  args: {
    oneOf: [
      { enum: ['spaced', 'compact', 'outward', 'inward'], description: 'the format' },
      {
        type: 'object',
        properties: { format: { enum: ['spaced', 'compact', 'outward', 'inward'], default: 'spaced', description: 'how to write the postcode' } },
        additionalProperties: false,
      },
    ],
  },
  argsOptional: true,
  example: { format: 'compact' },
  create(args) {
    const a = Args.of(args, ['format'], 'format');
    const format = a.choice('format', ['spaced', 'compact', 'outward', 'inward'] as const, 'spaced');
    return (v) => {
      const s = asText(v, 'postcode');
      const trimmed = s.trim();
      if (!isValidPostcode(trimmed)) throw new TransformFailure('postcode', `${quote(s)} is not a valid UK postcode`);
      const compact = trimmed.replace(WHITESPACE, '').toUpperCase();
      switch (format) {
        case 'spaced': return `${compact.slice(0, -3)} ${compact.slice(-3)}`;
        case 'compact': return compact;
        case 'outward': return compact.slice(0, -3);
        case 'inward': return compact.slice(-3);
      }
    };
  },
};

const NINO_SHAPE = /^[A-Z]{2}\d{6}[A-Z]$/;
const NINO_BAD_FIRST = 'DFIQUV';
const NINO_BAD_SECOND = 'DFIOQUV';
const NINO_BAD_PREFIXES = ['BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ'];

/** Why `nino` (upper-case, no spaces) breaks HMRC's rules, or `undefined` when it is valid. */
export function ninoProblem(nino: string): string | undefined {
  if (!NINO_SHAPE.test(nino)) return 'expected two letters, six digits and a letter A to D, like AB123456C';
  if (NINO_BAD_FIRST.includes(nino.charAt(0))) return 'the first letter cannot be D, F, I, Q, U or V';
  if (NINO_BAD_SECOND.includes(nino.charAt(1))) return 'the second letter cannot be D, F, I, O, Q, U or V';
  if (NINO_BAD_PREFIXES.includes(nino.slice(0, 2))) return `the prefix ${nino.slice(0, 2)} is never issued`;
  if (!'ABCD'.includes(nino.charAt(8))) return 'the last letter must be A, B, C or D';
  return undefined;
}

/**
 * `nino`: a National Insurance number in any case and spacing becomes
 * "AB123456C" (or "AB 12 34 56 C" with `format: spaced`), after HMRC's rules:
 * first letter not D, F, I, Q, U, V; second not D, F, I, O, Q, U, V; prefix
 * not BG, GB, NK, KN, TN, NT, ZZ; six digits; suffix A-D. The example prefix
 * QQ is therefore refused.
 */
export const nino: TransformDef = {
  name: 'nino',
  doc: 'Normalises and validates a National Insurance number by HMRC\'s rules: "ab 12 34 56 c" becomes "AB123456C" (`format: spaced` gives "AB 12 34 56 C"); QQ, the prefix used in examples, is refused.',
  args: {
    oneOf: [
      { enum: ['compact', 'spaced'], description: 'the format' },
      {
        type: 'object',
        properties: { format: { enum: ['compact', 'spaced'], default: 'compact', description: 'AB123456C or AB 12 34 56 C' } },
        additionalProperties: false,
      },
    ],
  },
  argsOptional: true,
  example: 'spaced',
  create(args) {
    const spaced = Args.of(args, ['format'], 'format').choice('format', ['compact', 'spaced'] as const, 'compact') === 'spaced';
    return (v) => {
      const s = asText(v, 'nino');
      const n = s.replace(WHITESPACE, '').toUpperCase();
      const problem = ninoProblem(n);
      if (problem !== undefined) throw new TransformFailure('nino', `${quote(s)} is not a valid National Insurance number: ${problem}`);
      return spaced ? `${n.slice(0, 2)} ${n.slice(2, 4)} ${n.slice(4, 6)} ${n.slice(6, 8)} ${n.charAt(8)}` : n;
    };
  },
};

type PhoneFormat = 'E.164' | 'national' | 'international' | 'digits';
const PHONE_FORMATS: readonly PhoneFormat[] = ['E.164', 'national', 'international', 'digits'];

/**
 * `phone`: a phone number, national to `region` (default GB) or
 * international, written as `E.164` (+447700900123, the default),
 * `national` (07700 900123), `international` (+44 7700 900123) or `digits`
 * (07700900123; numbers of other countries get 00 and the country code).
 * `validation: possible` (default) checks the length for the country, which
 * accepts Ofcom's drama numbers; `valid` also checks the number ranges
 * allocated in libphonenumber's data. Failure rule `phone`.
 */
export const phone: TransformDef = {
  name: 'phone',
  doc: 'Normalises a phone number (national to `region`, default GB, or international) to `E.164` (+447700900123, default), `national` (07700 900123), `international` (+44 7700 900123) or `digits` (07700900123); `validation: valid` also refuses numbers outside allocated ranges.',
  args: {
    oneOf: [
      { enum: PHONE_FORMATS, description: 'the format' },
      {
        type: 'object',
        properties: {
          region: { type: 'string', pattern: '^[A-Z]{2}$', default: 'GB', description: 'country of numbers written without +country code (ISO 3166 code)' },
          format: { enum: PHONE_FORMATS, default: 'E.164', description: 'how to write the number' },
          validation: {
            enum: ['possible', 'valid'],
            default: 'possible',
            description: '`possible`: right length for the country; `valid`: also in an allocated range (refuses 07700 900xxx drama numbers)',
          },
        },
        additionalProperties: false,
      },
    ],
  },
  argsOptional: true,
  example: { format: 'national' },
  create(args) {
    const a = Args.of(args, ['region', 'format', 'validation'], 'format');
    const region = a.string('region', 'GB');
    const { getCountryCallingCode, isSupportedCountry, parsePhoneNumberFromString } = phoneNumbers();
    if (!isSupportedCountry(region)) a.fail('region', `"${region}" is not a supported country code (use ISO 3166 codes such as GB)`);
    const country = region as CountryCode;
    const home = getCountryCallingCode(country);
    const format = a.choice('format', PHONE_FORMATS, 'E.164');
    const strict = a.choice('validation', ['possible', 'valid'] as const, 'possible') === 'valid';
    return (v) => {
      const s = asText(v, 'phone');
      const p = parsePhoneNumberFromString(s, country);
      if (p === undefined || !(strict ? p.isValid() : p.isPossible())) {
        throw new TransformFailure('phone', `${quote(s)} is not a valid phone number`);
      }
      if (p.ext !== undefined && (format === 'E.164' || format === 'digits')) {
        throw new TransformFailure('phone', `${quote(s)} has an extension, which the ${format} format cannot hold`);
      }
      switch (format) {
        case 'E.164': return p.number;
        case 'national': return p.formatNational();
        case 'international': return p.formatInternational();
        case 'digits': return p.countryCallingCode === home ? p.formatNational().replace(/\D/g, '') : '00' + p.number.slice(1);
      }
    };
  },
};

/** The identifier transforms of this file, in reference order. */
export const UK_IDENTIFIER_TRANSFORMS: readonly TransformDef[] = [postcode, nino, phone];
