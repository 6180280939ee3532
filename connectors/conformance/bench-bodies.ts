/**
 * The submissions the data targets' conformance runs use: bench/data.ts's
 * change-of-address bodies, mapped by bench/mapping-12.yaml into the
 * columns of {@link BENCH_FIELDS}.
 */
import { join } from 'node:path';
import { makeSubmissions } from '../../bench/data.js';
import { root } from '../../runner/cli.test-helpers.js';
import { withAnswer } from './conformance.run.js';

/** Absolute path of bench/mapping-12.yaml. */
export const BENCH_MAPPING = join(root, 'bench/mapping-12.yaml');

/** `n` distinct bodies with references counted from `offset`. */
export const benchSubmissions = (n: number, offset: number): object[] => makeSubmissions(n, 7, offset);

/** A copy of `body` whose town is `town` (TOWN is mapped trimmed and upper-cased). */
export const withTown = (body: object, town: string): object => withAnswer(body, 'addr', 'town_or_city', town);

type Answer = { question_id: string; answer_text: string; first_name?: string; last_name?: string };

/** The personal data of a body as given and as mapped: name, date of birth, licence number. */
export function benchPii(body: object): string[] {
  const answers = (body as { answers: Answer[] }).answers;
  const text = (id: string) => answers.find((a) => a.question_id === id)!.answer_text;
  const dob = text('dob');
  const licence = text('lic');
  return [text('nm'), dob, dob.replaceAll('/', '.'), licence, licence.replace(/\s+/g, '')];
}
