import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../definition/pipeline.loader.js';
import { arraySource, testMapping, TestTarget } from './flow.test-helpers.js';
import { flowPipeline } from './flow-pipeline.js';

const built = (...more: string[]) => {
  const text = ['pipeline: p', 'mapping: m.yaml', 'source:', '  kind: file', '  config: { path: in.ndjson }', 'target:', '  kind: sqlite', '  config: { path: l.sqlite, table: T, keyColumn: K }', ...more, ''].join('\n');
  const { def, problems } = parsePipeline('p.yaml', text);
  expect(problems).toEqual([]);
  return { def: def!, version: 'sha256:def', mapping: testMapping(), source: arraySource([]), target: new TestTarget() };
};

describe('flowPipeline', () => {
  it('takes the facts of the definition, without limits or window', () => {
    const b = built();
    const f = flowPipeline(b);
    expect(f).toMatchObject({ name: 'p', definitionVersion: 'sha256:def', targetName: 'sqlite', batchSize: 100, concurrency: 1, maxAttempts: b.def.retry.maxAttempts });
    expect(f.ratePerSecond).toBeUndefined();
    expect([f.source, f.target, f.mapping]).toEqual([b.source, b.target, b.mapping]);
    const now = new Date('2026-12-25T12:00:00Z');
    expect([f.writeAllowed(now), f.nextWriteTime(now)]).toEqual([true, now]);
  });

  it('keeps a batch within one second of the rate limit, and writes within the window', () => {
    const f = flowPipeline(built('batch: { size: 500 }', 'limits: { concurrency: 2, ratePerSecond: 2.5 }', 'window: { timezone: UTC, blackout: ["2026-12-25"] }'));
    expect([f.batchSize, f.ratePerSecond, f.concurrency]).toEqual([2, 2.5, 2]);
    expect(f.writeAllowed(new Date('2026-12-25T12:00:00Z'))).toBe(false);
    expect(f.nextWriteTime(new Date('2026-12-25T12:00:00Z'))).toEqual(new Date('2026-12-26T00:00:00Z'));
  });

  it('times retries by the definition’s backoff', () => {
    const f = flowPipeline(built('retry: { maxAttempts: 3, initialDelay: 10s, maxDelay: 1m, multiplier: 2, jitter: 0 }'));
    expect([1, 2, 3, 4].map((a) => f.retryDelay(a))).toEqual([10_000, 20_000, 40_000, 60_000]);
  });
});
