import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatProblem, parseMapping } from '../mappings/index.js';
import { loadMappingFile } from './mapping-files.js';

const lines = (...l: string[]) => l.join('\n') + '\n';
const GOOD = lines('mapping: t', 'fields:', '  SURNAME: { answer: nm.last_name, transform: [trim, upper, { truncate: 35 }], pii: true }');
/** A key the schema refuses, and nothing else wrong: only the schema check reports it. */
const MISSPELT = lines('mapping: t', 'fields:', '  SURNAME:', '    answer: nm.last_name', '    transfrom: [upper]');

describe('loading a mapping a caller already checked (worker threads)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rekey-mapping-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (text: string) => {
    const file = join(dir, 'm.yaml');
    writeFileSync(file, text);
    return file;
  };

  it('gives the same compiled mapping as a full load when the version is the one checked', async () => {
    const file = write(GOOD);
    const full = await loadMappingFile(file);
    const checked = await loadMappingFile(file, full.compiled!.version);
    expect(checked.problems).toEqual([]);
    expect(checked.compiled!.version).toBe(full.compiled!.version);
    expect(checked.compiled!.map({ answers: { nm: { last_name: ' Okafor ' } } })).toEqual(full.compiled!.map({ answers: { nm: { last_name: ' Okafor ' } } }));
  });

  it('checks everything again when the file is no longer the version checked, so schema problems are still reported', async () => {
    const before = (await loadMappingFile(write(GOOD))).compiled!.version;
    const file = write(MISSPELT);
    const full = await loadMappingFile(file);
    expect(full.problems.map(formatProblem)).toEqual([`${file}:5:5 unknown key "transfrom" under fields.SURNAME, did you mean "transform"? (at fields.SURNAME.transfrom)`]);
    const again = await loadMappingFile(file, before);
    expect(again.compiled).toBeUndefined();
    expect(again.problems).toEqual(full.problems);
  });

  it('skips only the schema check when asked: the same misspelt key then goes unreported', () => {
    expect(parseMapping('m.yaml', MISSPELT).problems.map(formatProblem)).toHaveLength(1);
    expect(parseMapping('m.yaml', MISSPELT, { skipSchema: true }).problems).toEqual([]);
  });
});
