// Builds the console's stylesheet (runner/console/console.scss, which uses
// govuk-frontend's Sass) into dist/runner/console/assets/console.css.
// Run by `npm run build`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sass from 'sass';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/runner/console/assets/console.css');
const result = sass.compile(join(root, 'runner/console/console.scss'), {
  loadPaths: [join(root, 'node_modules')],
  style: 'compressed',
  quietDeps: true,
  silenceDeprecations: ['import'],
});
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, result.css);
