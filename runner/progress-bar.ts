/** The progress bar of `rekey run` on a terminal: phase, count, rate and time left. */
import cliProgress from 'cli-progress';
import type { Progress } from '../pipelines/flow/flow.types.js';

/** `42s`, `3m05s`, `2h07m`: a number of seconds as the bar shows it. */
export function formatSecondsLeft(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The bar's ` | ETA ...` part: only while delivering (reading has no known
 * total, waiting no pace), from the pace since delivering began; nothing
 * when there is no pace yet. cli-progress's own ETA printed `LLs` (its
 * "NULL", cut to two characters) on a last frame with nothing left.
 */
function etaPart(phase: Progress['phase'], value: number, total: number, rate: number): string {
  if (phase !== 'delivering') return '';
  const left = total - value;
  if (left <= 0) return ' | ETA 0s';
  return rate > 0 ? ` | ETA ${formatSecondsLeft(left / rate)}` : '';
}

/** A progress bar on `stream` fed with a pass's progress; does nothing unless `enabled`. */
export function progressBar(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): { update(p: Progress): void; stop(): void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: '{phase} [{bar}] {value}/{total} | {rate}/s{left}', hideCursor: true, stream },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let total = 0;
  let active = false;
  let phase: { name: Progress['phase']; since: number; from: number } | undefined;
  return {
    update(p) {
      const value = p.phase === 'reading' ? p.read : p.done;
      total = Math.max(total, p.pending, value);
      const now = Date.now();
      const rate = Math.round(value / Math.max(0.001, (now - started) / 1000));
      if (phase?.name !== p.phase) phase = { name: p.phase, since: now, from: value };
      const phaseRate = (value - phase.from) / Math.max(0.001, (now - phase.since) / 1000);
      const payload = { phase: p.phase, rate, left: etaPart(p.phase, value, total, phaseRate) };
      if (!active) {
        bar.start(total, value, payload);
        active = true;
      }
      bar.setTotal(total);
      bar.update(value, payload);
    },
    stop: () => active && bar.stop(),
  };
}
