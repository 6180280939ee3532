/**
 * A display for tests of a headed browser: the environment's own DISPLAY
 * where there is one, else an Xvfb server of the test's own (Debian's
 * xvfb, which the system-packages global setup installs when it can),
 * started on a free display number that Xvfb reports once it accepts
 * connections.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';

/** Debian's virtual X server. */
export const XVFB = '/usr/bin/Xvfb';

/** A display to show windows on; {@link close} stops the server when the test started it. */
export interface TestDisplay {
  /** The value for DISPLAY, such as `:99`. */
  display: string;
  close(): Promise<void>;
}

/** Why no headed browser can be shown here, or undefined when one can. */
export function noDisplay(): string | undefined {
  return process.env.DISPLAY || existsSync(XVFB) ? undefined : 'no DISPLAY and no Xvfb (Debian\'s xvfb)';
}

/** The environment's display, else a new Xvfb server; rejects when Xvfb does not start within 20 s. */
export async function openDisplay(): Promise<TestDisplay> {
  if (process.env.DISPLAY) return { display: process.env.DISPLAY, close: () => Promise.resolve() };
  const child = spawn(XVFB, ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const stopped = new Promise<void>((r) => child.once('exit', () => r()));
  const close = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await stopped;
  };
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  try {
    const n = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`Xvfb did not start within 20 s: ${stderr}`)), 20_000);
      (child.stdio[3] as Readable).on('data', (b: Buffer) => {
        out += b.toString();
        if (!out.includes('\n')) return;
        clearTimeout(timer);
        resolve(out.trim());
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Xvfb exited (${code}): ${stderr}`));
      });
    });
    return { display: `:${n}`, close };
  } catch (e) {
    await close();
    throw e;
  }
}
