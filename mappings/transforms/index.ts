/**
 * The built-in transforms: one explicit list, grouped by theme for the
 * reference page. Nothing registers itself; add a transform by adding it here.
 */
import { CODE_TRANSFORMS } from './codes.transforms.js';
import { DATE_TRANSFORMS } from './date.transforms.js';
import { drivingLicence } from './driving-licence.transform.js';
import { LIST_TRANSFORMS } from './list.transforms.js';
import { NUMBER_TRANSFORMS } from './number.transforms.js';
import { PATTERN_TRANSFORMS } from './pattern.transforms.js';
import { TEXT_TRANSFORMS } from './text.transforms.js';
import { title } from './title.transform.js';
import type { TransformDef } from './transform.types.js';
import { transliterate } from './transliterate.transform.js';
import { UK_IDENTIFIER_TRANSFORMS } from './uk-identifiers.transforms.js';

export { TransformFailure } from './transform.types.js';
export type { TransformCtx, TransformDef, TransformEnv, TransformFn } from './transform.types.js';

/** A themed group of transforms, as the reference page lists them. */
export interface TransformGroup {
  title: string;
  transforms: readonly TransformDef[];
}

/** Every built-in transform, by theme, in reference order. */
export const TRANSFORM_GROUPS: readonly TransformGroup[] = [
  { title: 'Text', transforms: [...TEXT_TRANSFORMS, title, transliterate] },
  { title: 'Patterns', transforms: PATTERN_TRANSFORMS },
  { title: 'Lists', transforms: LIST_TRANSFORMS },
  { title: 'Numbers', transforms: NUMBER_TRANSFORMS },
  { title: 'Dates', transforms: DATE_TRANSFORMS },
  { title: 'UK identifiers', transforms: [...UK_IDENTIFIER_TRANSFORMS, drivingLicence] },
  { title: 'Codes', transforms: CODE_TRANSFORMS },
];

function byName(groups: readonly TransformGroup[]): ReadonlyMap<string, TransformDef> {
  const map = new Map<string, TransformDef>();
  for (const def of groups.flatMap((g) => g.transforms)) {
    if (map.has(def.name)) throw new Error(`two built-in transforms are named "${def.name}"`);
    map.set(def.name, def);
  }
  return map;
}

/** Every built-in transform by name (the names used in mapping files). */
export const TRANSFORMS: ReadonlyMap<string, TransformDef> = byName(TRANSFORM_GROUPS);

