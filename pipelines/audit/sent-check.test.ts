import { describe, expect, it } from 'vitest';
import type { AuditEntry, AuditRecord } from './audit.types.js';
import { piiHash } from './pii.js';
import { checkSentValue, sentCheckText } from './sent-check.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const h = (v: string) => piiHash(v, KEY);

function delivered(seq: number, record: Omit<AuditRecord, 'key'>, target: string | null = 'file-drop'): AuditEntry {
  return {
    seq,
    at: new Date(`2026-01-0${seq}T10:00:00.000Z`),
    pipeline: 'p',
    event: 'delivered',
    actor: 'runner:t:1',
    mappingVersion: 'sha256:v',
    target,
    legacyRef: null,
    detail: { keys: ['k'], records: [{ key: 'k', ...record }] },
    prevHash: '',
    hash: '',
  };
}

describe('checking a value against what was sent', () => {
  const entries = [
    delivered(1, { pii: { SURNAME: h('OLD') } }),
    delivered(2, {
      sent: { hash: `sha256:${'0'.repeat(64)}`, fields: { SURNAME: h('NEW'), 'PREV.PC': [h('LS1 1AA'), h('YO1 7HH')] } },
      target: { kind: 'file-drop', system: 'drop', object: 'DRV_{seq:6}.dat' },
    }),
  ];

  it('finds a group field value in any child row, naming the rows', () => {
    const c = checkSentValue(entries, 'k', 'PREV.PC', 'YO1 7HH', KEY);
    expect(c).toEqual({ key: 'k', field: 'PREV.PC', match: true, seq: 2, at: '2026-01-02T10:00:00.000Z', target: 'file-drop drop DRV_{seq:6}.dat', rows: [2] });
    expect(sentCheckText(c)).toBe('match: PREV.PC is the value sent in child row 2 at 2026-01-02T10:00:00.000Z (audit seq 2) to file-drop drop DRV_{seq:6}.dat\n');
    expect(checkSentValue(entries, 'k', 'PREV.PC', 'M1 1AE', KEY)).toMatchObject({ match: false, rows: [] });
  });

  it('matches an older delivery by its pii hashes, and otherwise answers for the newest', () => {
    expect(checkSentValue(entries, 'k', 'SURNAME', 'OLD', KEY)).toMatchObject({ match: true, seq: 1, target: 'file-drop' });
    expect(checkSentValue(entries, 'k', 'SURNAME', 'NEW', KEY)).toMatchObject({ match: true, seq: 2 });
    const none = checkSentValue(entries, 'k', 'SURNAME', 'OTHER', KEY);
    expect(none).toMatchObject({ match: false, seq: 2 });
    expect(sentCheckText(none)).toBe('no match: SURNAME is not the value sent at 2026-01-02T10:00:00.000Z (audit seq 2) to file-drop drop DRV_{seq:6}.dat\n');
  });
});
