/**
 * Load-time checks of the strings that point into a submission (paths,
 * answer references, templates) and of regular expressions, each reported at
 * the character where it goes wrong.
 */
import { parseAnswerRef, parsePath, parseTemplate, PathSyntaxError } from './path.js';
import type { DocPath, YamlSource } from '../lib/yaml-source.js';

/** Checks a regular expression compiles; reports it at `path` if not. */
export function checkRegex(src: YamlSource, path: DocPath, pattern: string): void {
  try {
    new RegExp(pattern, 'u');
  } catch (e) {
    src.report(path, `invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}

/** Checks a path, answer reference or template at `path`, reporting the bad character's position. */
export function checkRef(src: YamlSource, path: DocPath, kind: 'from' | 'answer' | 'template', text: string, inGroup: boolean): void {
  try {
    if (kind === 'answer') parseAnswerRef(text);
    else {
      const paths = kind === 'template' ? parseTemplate(text).flatMap((p) => ('path' in p ? [p.path] : [])) : [parsePath(text)];
      for (const p of paths) {
        if (p.root !== 'submission' && !inGroup) src.reportInside(path, 0, `${p.root} can only be used inside a group's fields`);
      }
    }
  } catch (e) {
    if (!(e instanceof PathSyntaxError)) throw e;
    src.reportInside(path, e.offset, `bad ${kind === 'answer' ? 'answer reference' : kind === 'template' ? 'template' : 'path'}: ${e.message}`);
  }
}
