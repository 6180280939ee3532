/**
 * Other names people give the built-in transforms (`uppercase`, `strip`,
 * `capitalize`), so that an unknown transform is answered with the one meant
 * even when the spelling is nowhere near: `unknown transform "uppercase",
 * did you mean "upper"?`. Only names of transforms that exist are listed.
 */
import { suggest } from '../../lib/yaml-source.js';

/** Per built-in transform, the names (compared ignoring case) that mean it elsewhere. */
export const TRANSFORM_SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  trim: ['strip', 'trimSpace', 'trimWhitespace', 'chomp'],
  collapse: ['squish', 'squeeze', 'normalizeSpace', 'normaliseSpace', 'normalizeWhitespace', 'collapseWhitespace'],
  upper: ['uppercase', 'upcase', 'toUpper', 'toUpperCase', 'caps', 'allCaps', 'ucase'],
  lower: ['lowercase', 'downcase', 'toLower', 'toLowerCase', 'lcase'],
  truncate: ['substr', 'substring', 'left', 'maxLength', 'cut', 'shorten'],
  pad: ['padStart', 'padEnd', 'padLeft', 'padRight', 'lpad', 'rpad', 'zeroPad', 'fill'],
  toString: ['string', 'str', 'toStr', 'stringify', 'text'],
  title: ['titleCase', 'capitalize', 'capitalise', 'properCase', 'toTitle', 'ucwords', 'initcap'],
  transliterate: ['ascii', 'asciify', 'deaccent', 'unaccent', 'removeAccents', 'stripAccents'],
  replace: ['sub', 'gsub', 'substitute', 'replaceAll', 'regexReplace'],
  extract: ['match', 'capture', 'regex', 'regexExtract'],
  split: ['explode', 'tokenize', 'tokenise'],
  join: ['implode', 'concat'],
  first: ['head'],
  last: ['tail'],
  count: ['length', 'len', 'size'],
  number: ['toNumber', 'parseNumber', 'parseInt', 'parseFloat', 'int', 'integer', 'float', 'numeric', 'decimal'],
  formatNumber: ['format', 'numberFormat', 'toFixed', 'fixed', 'round'],
  impliedDecimals: ['impliedDecimal', 'pence', 'cents', 'implied'],
  date: ['formatDate', 'parseDate', 'toDate', 'dateFormat', 'datetime'],
  postcode: ['postalCode', 'zip', 'zipCode'],
  nino: ['ni', 'niNumber', 'nationalInsurance', 'nationalInsuranceNumber'],
  phone: ['telephone', 'tel', 'phoneNumber', 'mobile', 'e164'],
  drivingLicence: ['drivingLicense', 'licence', 'license', 'driverNumber', 'driverNo'],
  bool: ['boolean', 'toBool', 'toBoolean', 'yesNo', 'yn', 'flag'],
  lookup: ['map', 'codeList', 'decode', 'translate', 'dictionary'],
  function: ['fn', 'func', 'custom', 'call'],
};

/**
 * The built-in transform `name` was meant to be, by synonym (ignoring case)
 * or else by spelling; undefined when nothing fits. Refuses a table whose
 * entries name transforms that do not exist, or are transform names.
 */
export function meantTransform(name: string, known: ReadonlySet<string>): string | undefined {
  const lower = name.toLowerCase();
  for (const [target, others] of Object.entries(TRANSFORM_SYNONYMS)) {
    if (!known.has(target)) throw new Error(`transform synonyms name "${target}", which is no transform`);
    if (others.some((o) => o.toLowerCase() === lower)) return target;
  }
  const hint = suggest(name, known);
  return hint ? /"(.*)"/.exec(hint)![1] : undefined;
}

/** `, did you mean "upper"?` for an unknown transform `name` among `known`, or ''. */
export function suggestTransform(name: string, known: ReadonlySet<string>): string {
  const meant = meantTransform(name, known);
  return meant === undefined ? '' : `, did you mean "${meant}"?`;
}
