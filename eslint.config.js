import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layering of DESIGN.md, checked on every relative import (a layer is
 * a top-level folder, so `(../)+layer/` is that layer from any depth):
 * lib/ imports no other layer; mappings/ imports only lib/; connectors/
 * import lib/, the mapping language's public entry and types, and the
 * shared connector files; pipelines/ never import runner/ or a
 * connector's internals; runner/ may import everything.
 */
const up = '^(\\.\\./)+';
const layer = (message, ...regexes) => ['error', { patterns: regexes.map((regex) => ({ regex, message })) }];

/**
 * Tests and their support files may reach across layers for fixtures: a
 * connector's crash test runs the CLI and reads the ledger, a flow test
 * builds real connectors, the conformance suite drives `rekey run` and
 * reads the state store. bench/, fixtures/ and examples/ are not layers
 * and have no rule.
 */
const testFiles = ['**/*.test.ts', '**/*.test-helpers.ts', '**/*test-support.ts', '**/*.global-setup.ts', 'connectors/conformance/**'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tools/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['lib/**/*.ts'],
    ignores: testFiles,
    rules: { 'no-restricted-imports': layer('lib/ is the bottom layer: it imports no other layer.', '^\\.\\./') },
  },
  {
    files: ['mappings/**/*.ts'],
    ignores: testFiles,
    rules: { 'no-restricted-imports': layer('mappings/ is pure: it imports only lib/.', `${up}(connectors|pipelines|runner|bench|fixtures|examples)(/|$)`) },
  },
  {
    files: ['connectors/**/*.ts'],
    ignores: testFiles,
    rules: {
      'no-restricted-imports': layer(
        'connectors/ import only lib/, mappings/index.js or mappings/mapping.types.js, and the shared connector files; what they need from the flow is handed in on Ctx.',
        `${up}(pipelines|runner|bench|fixtures|examples)(/|$)`,
        `${up}mappings/(?!(index|mapping\\.types)\\.js$)`,
      ),
    },
  },
  {
    files: ['pipelines/**/*.ts'],
    ignores: testFiles,
    rules: {
      'no-restricted-imports': layer(
        "pipelines/ never import runner/ or a connector's internals: only the shared files at the top of connectors/ (connector.types, registry, ...).",
        `${up}(runner|bench|fixtures|examples)(/|$)`,
        `${up}connectors/[^/]+/`,
      ),
    },
  },
);
