import { describe, expect, it } from 'vitest';
import { compileSchema } from '../lib/schema-check.js';
import { BUILTIN_CONNECTORS, SOURCES, TARGETS } from './registry.js';

describe('connector registry', () => {
  it('lists each built-in once, under its own name and kind', () => {
    expect([...SOURCES.keys()]).toEqual(['file', 'inbox', 'webhook', 'staging-table']);
    expect([...TARGETS.keys()]).toEqual(['sqlite', 'sql', 'file-drop', 'browser', 'notify']);
    for (const [name, def] of SOURCES) expect([def.name, def.kind]).toEqual([name, 'source']);
    for (const [name, def] of TARGETS) expect([def.name, def.kind]).toEqual([name, 'target']);
    expect(BUILTIN_CONNECTORS).toEqual({ sources: SOURCES, targets: TARGETS });
  });

  it('has every connector declare a closed config schema that compiles', () => {
    for (const def of [...SOURCES.values(), ...TARGETS.values()]) {
      expect(def.configSchema, def.name).toMatchObject({ type: 'object', additionalProperties: false });
      expect(def.doc.length, def.name).toBeGreaterThan(20);
      const validate = compileSchema(def.configSchema);
      expect(validate({ surelyUnknownKey: 1 }), def.name).toBe(false);
    }
  });

  it('builds connectors without touching anything', () => {
    const env = { baseDir: '/nonexistent', pipeline: 't' };
    expect(() => SOURCES.get('file')?.create({ path: 'in.ndjson' }, env)).not.toThrow();
    expect(() => SOURCES.get('inbox')?.create({ path: 'inbox' }, env)).not.toThrow();
    expect(() => SOURCES.get('webhook')?.create({ secret: 'a-signing-secret-of-sixteen-or-more' }, env)).not.toThrow();
    expect(() => TARGETS.get('sqlite')?.create({ path: 'db.sqlite', table: 'T', keyColumn: 'K' }, env)).not.toThrow();
  });
});
