import { describe, expect, it } from 'vitest';
import { auditPath, joinedBytes, leafHash, merkleRoot, merkleRootOfJoined, merkleRootOfTexts, rootFromPath } from './merkle.js';

// Certificate Transparency's reference tree (the leaves and heads other RFC 6962 logs test against).
const CT_DATA = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const CT_LEAVES = CT_DATA.map((d) => leafHash(d));
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const hex = (b: Buffer) => b.toString('hex');

describe('Merkle trees (RFC 6962)', () => {
  it('gives the reference heads for every size from 0 to 8', () => {
    for (let n = 0; n <= 8; n++) expect(hex(merkleRoot(CT_LEAVES.slice(0, n))), `size ${n}`).toBe(CT_ROOTS[n]);
  });

  it('gives the reference heads from records joined by a separator byte, as it does from their leaves', () => {
    for (let n = 0; n <= 8; n++) {
      const data = CT_DATA.slice(0, n);
      const joined = Buffer.concat(data.flatMap((d, i) => (i ? [Buffer.from(','), d] : [d])));
      expect(hex(merkleRootOfJoined(joined, data.map((d) => d.length))), `size ${n}`).toBe(CT_ROOTS[n]);
    }
  });

  it('gives from joined texts the root their leaves give, for every shape of tree and records of every length, non-ASCII included', () => {
    for (let n = 1; n <= 70; n++) {
      const texts = Array.from({ length: n }, (_, i) => JSON.stringify({ key: `Form/${i}`, note: 'é–'.repeat((i * 7) % 50), pad: 'x'.repeat((i * 37) % 700) }));
      const lengths = Uint32Array.from(texts, (t) => t.length);
      expect(merkleRootOfTexts(texts.join(','), lengths), `${n} records`).toBe(hex(merkleRoot(texts.map((t) => leafHash(t)))));
      const b = joinedBytes(texts.join(','), lengths);
      expect(b.lengths).toEqual(Uint32Array.from(texts, (t) => Buffer.byteLength(t)));
    }
  });

  it('gives the reference audit paths', () => {
    expect(auditPath(CT_LEAVES, 0).map(hex)).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(auditPath(CT_LEAVES, 5).map(hex)).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
  });

  it("proves every leaf of trees of every shape, and nothing else", () => {
    const leaves = Array.from({ length: 37 }, (_, i) => leafHash(`{"key":"K${i}"}`));
    for (let n = 1; n <= leaves.length; n++) {
      const tree = leaves.slice(0, n);
      const root = merkleRoot(tree);
      for (let i = 0; i < n; i++) {
        const path = auditPath(tree, i);
        expect(rootFromPath(tree[i]!, i, n, path)?.equals(root), `leaf ${i} of ${n}`).toBe(true);
        // Another leaf, another position, another size or a path cut short does not give the root.
        expect(rootFromPath(leafHash('{"key":"other"}'), i, n, path)?.equals(root) ?? false).toBe(false);
        if (n > 1) expect(rootFromPath(tree[i]!, (i + 1) % n, n, path)?.equals(root) ?? false).toBe(false);
        if (path.length) expect(rootFromPath(tree[i]!, i, n, path.slice(0, -1))?.equals(root) ?? false).toBe(false);
        expect(rootFromPath(tree[i]!, i, n, [...path, root])).toBeNull();
      }
    }
  });

  it('never takes a leaf for an interior node', () => {
    // The concatenation of two leaf hashes, hashed as a leaf, is not their parent.
    const [a, b] = [leafHash('a'), leafHash('b')];
    expect(leafHash(Buffer.concat([a, b])).equals(merkleRoot([a, b]))).toBe(false);
  });

  it('refuses a leaf outside the tree', () => {
    expect(() => auditPath(CT_LEAVES, 8)).toThrow(RangeError);
    expect(rootFromPath(CT_LEAVES[0]!, 3, 3, [])).toBeNull();
  });
});

describe('Merkle roots off the main thread', () => {
  it('gives the root the calling thread gives, for a batch small enough to stay and one large enough to go', async () => {
    const { INLINE_BELOW, merkleRootOf } = await import('./merkle-thread.js');
    for (const n of [1, INLINE_BELOW - 1, INLINE_BELOW, 2 * INLINE_BELOW + 3]) {
      // Texts as the audit log writes them: JSON, escapes and non-ASCII included.
      const texts = Array.from({ length: n }, (_, i) => JSON.stringify({ key: `Form/${i}`, note: 'line\nbreak, "quoted", Llanelli – Llanfairpwll' }));
      expect(await merkleRootOf(texts.join(','), Uint32Array.from(texts, (t) => t.length)), `${n} records`).toBe(hex(merkleRoot(texts.map(leafHash))));
    }
  });
});
