/** The progress bar of `rekey run` on a terminal: phase, count, rate and time left. */
import cliProgress from 'cli-progress';
import type { Progress } from '../pipelines/flow/flow.types.js';

/** A progress bar on `stream` fed with a pass's progress; does nothing unless `enabled`. */
export function progressBar(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): { update(p: Progress): void; stop(): void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: '{phase} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted}', hideCursor: true, stream },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let total = 0;
  let active = false;
  return {
    update(p) {
      const value = p.phase === 'reading' ? p.read : p.done;
      total = Math.max(total, p.pending, value);
      const rate = Math.round(value / Math.max(0.001, (Date.now() - started) / 1000));
      if (!active) {
        bar.start(total, value, { phase: p.phase, rate });
        active = true;
      }
      bar.setTotal(total);
      bar.update(value, { phase: p.phase, rate });
    },
    stop: () => active && bar.stop(),
  };
}
