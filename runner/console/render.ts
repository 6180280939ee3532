/**
 * Server-side rendering of the console: Nunjucks over the console's own
 * views (runner/console/views) and govuk-frontend's templates and macros,
 * autoescaped. The stylesheet is built from govuk-frontend's Sass at
 * `npm run build` (scripts/console-css.mjs) into dist/runner/console/assets.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import nunjucks from 'nunjucks';
import { packageRoot } from '../package-info.js';

/** govuk-frontend's `dist` folder (its templates are under `govuk/`). */
export function govukDist(): string {
  const req = createRequire(import.meta.url);
  return join(dirname(req.resolve('govuk-frontend/package.json')), 'dist');
}

/** Where the console's views are. */
export function viewsDir(root = packageRoot()): string {
  return join(root, 'runner', 'console', 'views');
}

/** Where the built stylesheet is. */
export function assetsDir(root = packageRoot()): string {
  return join(root, 'dist', 'runner', 'console', 'assets');
}

/** A configured Nunjucks environment: autoescape on, undefined values rendered empty, with a few filters pages share. */
export function consoleViews(root = packageRoot()): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader([viewsDir(root), govukDist()], { noCache: false }), { autoescape: true, throwOnUndefined: false });
  env.addFilter('when', (v: unknown) => (v instanceof Date ? v.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : typeof v === 'string' ? v.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : ''));
  env.addFilter('count', (v: unknown) => (typeof v === 'number' ? v.toLocaleString('en-GB') : v === undefined || v === null ? '0' : String(v)));
  env.addFilter('enc', (v: unknown) => encodeURIComponent(String(v ?? '')));
  return env;
}

/**
 * Compiles every view of `env` (and the govuk-frontend macros they import)
 * by rendering each once with no data, so no user waits for Nunjucks to
 * compile a page (about 90 to 230 ms for the Pipelines page on a busy
 * 2-core machine). A view that cannot render without data is compiled
 * when first asked for, as before.
 */
export function warmViews(env: nunjucks.Environment, root = packageRoot()): void {
  for (const name of readdirSync(viewsDir(root)).filter((f) => f.endsWith('.njk'))) {
    try {
      env.render(name, {});
    } catch {
      // Compiled as far as it went; the rest compiles on first use.
    }
  }
}
