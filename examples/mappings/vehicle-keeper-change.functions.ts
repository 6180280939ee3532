/**
 * User functions of the vehicle-keeper-change mapping (its escape hatch).
 * Every named export is a user function; keep helpers unexported.
 */
import { TransformFailure, type TransformCtx } from '../../mappings/transforms/transform.types.js';

/**
 * The shapes a GB registration mark can take, without spaces. Letters that
 * DVLA never issues in a position are left out (I, Q and Z in the current
 * memory tag; I, O, Q, U and Z as a prefix or suffix year letter).
 */
const FORMATS: readonly { name: string; pattern: RegExp }[] = [
  { name: 'current', pattern: /^[A-HJ-PR-Y]{2}[0-9]{2}[A-HJ-PR-Z]{3}$/ },
  { name: 'prefix', pattern: /^[A-HJ-NPR-TV-Y][0-9]{1,3}[A-Z]{3}$/ },
  { name: 'suffix', pattern: /^[A-Z]{3}[0-9]{1,3}[A-HJ-NPR-TV-Y]$/ },
  { name: 'dateless', pattern: /^(?:[0-9]{1,4}[A-Z]{1,3}|[A-Z]{1,3}[0-9]{1,4})$/ },
];

const WHITESPACE = /\s+/g;

/**
 * A transform (`{ function: registrationMark }`): a vehicle registration
 * mark in any case and spacing ("ab12 cde", " K123 ABC ") becomes the mark
 * without spaces, upper-cased ("AB12CDE"), as the vehicle register keys it.
 * Throws `TransformFailure` with rule `registration-mark` when the mark is
 * not text or fits none of the current (AB12 CDE), prefix (A123 BCD),
 * suffix (ABC 123D) or dateless (1 ABC, ABC 1234) formats. The message does
 * not repeat the mark.
 */
export function registrationMark(value: unknown, _ctx: TransformCtx): unknown {
  if (typeof value !== 'string') {
    throw new TransformFailure('registration-mark', 'a registration mark must be text');
  }
  const mark = value.replace(WHITESPACE, '').toUpperCase();
  if (!FORMATS.some((f) => f.pattern.test(mark))) {
    throw new TransformFailure(
      'registration-mark',
      'is not a GB registration mark in the current (AB12 CDE), prefix (A123 BCD), suffix (ABC 123D) or dateless (1 ABC) format',
    );
  }
  return mark;
}
