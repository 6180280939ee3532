import { readdirSync } from 'node:fs';
import type nunjucks from 'nunjucks';
import { describe, expect, it } from 'vitest';
import { consoleViews, viewsDir, warmViews } from './render.js';

/** The full paths of the templates `env` holds compiled. */
function compiled(env: nunjucks.Environment): string[] {
  const loaders = (env as unknown as { loaders: Array<{ cache: Record<string, unknown> }> }).loaders;
  return loaders.flatMap((l) => Object.keys(l.cache));
}

describe('warmViews', () => {
  it('compiles every view and the govuk-frontend macros they import before any page is asked for', () => {
    const env = consoleViews();
    expect(compiled(env)).toEqual([]);
    warmViews(env);
    const done = compiled(env);
    for (const view of readdirSync(viewsDir()).filter((f) => f.endsWith('.njk'))) expect(done).toContain(view);
    for (const component of ['pagination', 'tag', 'summary-list', 'checkboxes']) expect(done).toContain(`govuk/components/${component}/macro.njk`);
    expect(done.some((name) => name.endsWith('govuk/components/tag/template.njk'))).toBe(true);
  });
});
