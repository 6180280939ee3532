import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_EVENTS } from './audit.types.js';

const root = join(import.meta.dirname, '..', '..');

describe('docs/audit.md', () => {
  it('lists every audit event, and no other, in "The events on the log"', () => {
    const text = readFileSync(join(root, 'docs', 'audit.md'), 'utf8');
    const section = text.split('## The events on the log')[1]?.split(/^## /m)[0] ?? '';
    const listed = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect([...listed].sort()).toEqual([...AUDIT_EVENTS].sort());
  });
});
