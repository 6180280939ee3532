import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatSecondsLeft, progressBar } from './progress-bar.js';

/** A terminal-like stream that keeps what is written to it. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = 200;
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** The frames drawn, escape sequences removed. */
const frames = (t: FakeTerminal) =>
  t.text
    .replace(/\x1B\[[0-9;?]*[A-Za-z]|\x1B[78]/g, '\n') // eslint-disable-line no-control-regex
    .split(/[\r\n]/)
    .map((l) => l.trim())
    .filter(Boolean);

describe('progress bar', () => {
  it('shows a time left that reads as a time on every delivering frame, the last included', () => {
    const t = new FakeTerminal();
    const bar = progressBar(true, t as unknown as NodeJS.WriteStream);
    bar.update({ phase: 'reading', read: 0, done: 0, pending: 0 });
    bar.update({ phase: 'reading', read: 3, done: 0, pending: 3 });
    bar.update({ phase: 'delivering', read: 3, done: 0, pending: 3 });
    bar.update({ phase: 'delivering', read: 3, done: 1, pending: 3 });
    // The pass reports its last figures again and again (more than the bar's 10 samples) while it finishes.
    for (let i = 0; i < 15; i++) bar.update({ phase: 'delivering', read: 3, done: 3, pending: 3 });
    bar.stop();
    const drawn = frames(t);
    expect(drawn.length).toBeGreaterThan(0);
    for (const f of drawn) expect(f).not.toMatch(/LL|NULL|INF|NF/);
    for (const f of drawn.filter((d) => d.startsWith('delivering'))) expect(f).toMatch(/ \| ETA (\d+s|\d+m\d\ds|\d+h\d\dm)$/);
    expect(drawn.at(-1)).toMatch(/^delivering .* 3\/3 \| \d+\/s \| ETA 0s$/);
  });
});

describe('formatSecondsLeft', () => {
  it('writes seconds, minutes and hours', () => {
    expect([0, 0.2, 42, 60, 185, 3600, 7620].map(formatSecondsLeft)).toEqual(['0s', '1s', '42s', '1m00s', '3m05s', '1h00m', '2h07m']);
  });
});
