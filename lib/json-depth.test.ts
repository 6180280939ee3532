import { describe, expect, it } from 'vitest';
import { jsonTextDeeperThan, valueDeeperThan } from './json-depth.js';

const nested = (depth: number) => `${'{"a":['.repeat(depth / 2)}1${']}'.repeat(depth / 2)}`;

describe('jsonTextDeeperThan', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(jsonTextDeeperThan(nested(64), 64)).toBe(false);
    expect(jsonTextDeeperThan(nested(66), 64)).toBe(true);
    expect(jsonTextDeeperThan(`{"a":"${'['.repeat(100)}\\"${'{'.repeat(100)}","b":[[1]]}`, 3)).toBe(false);
    expect(jsonTextDeeperThan(`{"a":"\\\\","b":[[[1]]]}`, 3)).toBe(true);
    expect(jsonTextDeeperThan('"just a string"', 0)).toBe(false);
  });

  it('measures a record 100,000 levels deep', () => {
    expect(jsonTextDeeperThan(nested(100_000), 1000)).toBe(true);
  });
});

describe('valueDeeperThan', () => {
  it('walks parsed data without recursion', () => {
    expect(valueDeeperThan(JSON.parse(nested(64)), 64)).toBe(false);
    expect(valueDeeperThan(JSON.parse(nested(66)), 64)).toBe(true);
    expect(valueDeeperThan(JSON.parse(nested(100_000)), 1000)).toBe(true);
    expect(valueDeeperThan('text', 0)).toBe(false);
    expect(valueDeeperThan({}, 0)).toBe(true);
  });
});
