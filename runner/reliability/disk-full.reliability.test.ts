/**
 * Reliability: disk full during a drop (issue 23). The file-drop target's
 * folder is a size-limited tmpfs (256 KiB), nearly filled beforehand, so
 * `rekey run` runs out of space while it writes the drop's files. The run
 * must fail with a coded error and leave no partial file published; once
 * the space is freed, running again delivers every submission exactly once
 * across the published files (each matching its manifest). Needs root to
 * mount the tmpfs: skips, saying so, where it cannot. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { keyOf, ledgerRows, summaryOf, WorkDir } from '../../connectors/conformance/conformance.run.js';
import { rekey } from '../cli.test-helpers.js';
import { droppedKeys, figure, tally } from './reliability.test-helpers.js';

const N = 400;
const work = new WorkDir('rekey-disk-full-');
const drop = join(work.dir, 'drop');
mkdirSync(drop);
const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', drop], { encoding: 'utf8' });
const skip = mount.status === 0 ? null : `cannot mount a size-limited tmpfs here (${(mount.stderr || mount.error?.message || `exit ${mount.status}`).trim()}): disk full during a drop is not tested`;
if (skip) process.stderr.write(`SKIP ${skip}\n`);
afterAll(() => {
  if (!skip) spawnSync('umount', [drop]);
  rmSync(work.dir, { recursive: true, force: true });
});

const FORM = keyOf(benchSubmissions(1, 0)[0]!).split('/')[0]!;

/** Every key in the drop's published files (one entry per record); checks each file against its manifest. */
const dropped = (): string[] => droppedKeys(drop, FORM);

describe('disk full during a drop', () => {
  it.skipIf(Boolean(skip))(
    'the run fails with a coded error while the drop folder is full; once space is freed, every submission is dropped exactly once',
    async () => {
      work.write(
        {
          name: 'disk-full',
          mapping: BENCH_MAPPING,
          target: { kind: 'file-drop', config: { folder: './drop', name: 'ADDR_{seq:4}.csv', manifest: true, trigger: '.ok', rotate: { records: 50 }, format: { kind: 'csv' } } },
          batch: 25,
          extra: { workers: 0 },
        },
        benchSubmissions(N, 0),
      );
      // Fill the tmpfs but for 12 KiB: room for a file of 50 records (about 9 KiB), not for 400 records.
      const filler = join(drop, '.filler');
      writeFileSync(filler, Buffer.alloc(244 * 1024));
      const full = await work.run();
      const failed = full.code !== 0;
      const said = full.stderr.match(/rekey: ([A-Z][A-Z0-9_]+)/)?.[1] ?? full.stdout.match(/"code":"([A-Z][A-Z0-9_]+)"/)?.[1];
      const noSpace = /ENOSPC|no space/i.test(full.stdout + full.stderr);
      const before = dropped();
      const leftTemp = readdirSync(drop).filter((n) => n.startsWith('.') && n !== '.filler');
      const dead = (await ledgerRows(work.state, 'disk-full')).filter((r) => r.state === 'dead').length;
      if (process.env.REKEY_RELIABILITY_VERBOSE) process.stdout.write(`left in the drop: ${readdirSync(drop).map((n) => `${n} ${statSync(join(drop, n)).size}`).join(', ')}\n`);

      // Space freed; what ran out of retries goes back with `rekey dlq retry --all`, as an operator would.
      rmSync(filler);
      if (process.env.REKEY_RELIABILITY_VERBOSE) process.stdout.write(`df after freeing: ${spawnSync('df', ['-k', drop], { encoding: 'utf8' }).stdout}\n`);
      const retry = await rekey(['dlq', 'retry', 'disk-full', '--all', '--state', `sqlite:${work.state}`, '--operator', 'reliability'], work.dir);
      expect(retry.code, retry.stderr).toBe(0);
      const done = await work.finish({}, 5);
      const leftAfter = readdirSync(drop).filter((n) => n.startsWith('.'));
      const published = readdirSync(drop).filter((n) => n.endsWith('.csv') && !n.startsWith('.')).sort();
      const keys = benchSubmissions(N, 0).map(keyOf);
      const t = tally(keys, dropped());
      const ledger = await ledgerRows(work.state, 'disk-full');
      const notDelivered = ledger.filter((r) => r.state !== 'delivered');
      figure(
        `disk full during a drop (tmpfs 256 KiB, 12 KiB free): full run exit ${full.code} ${said ? `code ${said}` : 'no error code'}${noSpace ? ' (ENOSPC reported)' : ''}, ${before.length} records published before the space was freed, ${dead} dead-lettered, ${leftTemp.length} temporary files left; space freed and dlq retry --all: exit ${done.code}, ${N} submissions, lost ${t.lost.length}, duplicated ${t.duplicated.length}, ledger not delivered ${notDelivered.length}, temporary files left ${leftAfter.length}; published ${published.length} files: ${published[0]}, ${published[1]} ... ${published.at(-1)}`,
      );
      expect(failed, 'the run on a full disk does not claim success').toBe(true);
      expect(said, `a coded error: ${full.stdout.slice(-1000)} ${full.stderr.slice(-1500)}`).toBeDefined();
      expect(done.code, done.stderr.slice(-1500)).toBe(0);
      expect(summaryOf(done).waitingRetry).toBe(0);
      expect(t.lost, 'lost').toEqual([]);
      expect(t.duplicated, 'duplicated').toEqual([]);
      expect(notDelivered.map((r) => `${r.key}: ${r.state}`)).toEqual([]);
      expect(leftAfter, 'nothing temporary left in the drop').toEqual([]);
      // A file never published gives its number back: the published sequence has no gap.
      expect(published).toEqual(published.map((_, i) => `ADDR_${String(i + 1).padStart(4, '0')}.csv`));
    },
    300_000,
  );
});
