import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({ cwd: root });

/** The rule ids of the problems ESLint reports for a file at `file` (relative to the root) importing `from`. */
async function problemsOf(file: string, from: string): Promise<string[]> {
  const code = `import { thing } from '${from}';\nexport const used = thing;\n`;
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result!.messages.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('the layering in the lint (npm run lint)', () => {
  it.each([
    ['mappings/mapping.x.ts', '../pipelines/flow/pass.js', 'mappings/ is pure'],
    ['mappings/transforms/x.ts', '../../connectors/connector.types.js', 'mappings/ is pure'],
    ['lib/x.ts', '../mappings/index.js', 'lib/ is the bottom layer'],
    ['connectors/file-drop/x.ts', '../../pipelines/flow/crash-points.js', 'connectors/ import only'],
    ['connectors/sql/x.ts', '../../runner/runtime.js', 'connectors/ import only'],
    ['connectors/sql/x.ts', '../../mappings/mapping.compiler.js', 'connectors/ import only'],
    ['pipelines/flow/x.ts', '../../connectors/file-inbox/readers/decode.js', "pipelines/ never import runner/ or a connector's internals"],
    ['pipelines/x.ts', '../runner/runtime.js', "pipelines/ never import runner/ or a connector's internals"],
  ])('fails %s importing %s', async (file, from, says) => {
    const problems = await problemsOf(file, from);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('no-restricted-imports');
    expect(problems[0]).toContain(says);
  });

  it.each([
    ['mappings/transforms/x.ts', '../../lib/decimal.js'],
    ['lib/x.ts', './canonical-json.js'],
    ['connectors/sql/x.ts', '../../mappings/index.js'],
    ['connectors/sql/x.ts', '../../mappings/mapping.types.js'],
    ['connectors/file-drop/x.ts', '../connector.types.js'],
    ['connectors/file-drop/x.ts', '../../lib/redact.js'],
    ['pipelines/flow/x.ts', '../../connectors/connector.types.js'],
    ['pipelines/definition/x.ts', '../../connectors/registry.js'],
    ['pipelines/flow/x.ts', '../../mappings/index.js'],
    ['runner/x.ts', '../connectors/webhook/webhook.source.js'],
    ['pipelines/flow/x.test.ts', '../../runner/cli.test-helpers.js'],
    ['bench/x.ts', '../runner/runtime.js'],
  ])('passes %s importing %s', async (file, from) => {
    expect(await problemsOf(file, from)).toEqual([]);
  });
});
