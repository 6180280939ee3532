/**
 * Keying a form through sessions that run out. The form's top-level steps
 * run in order; a `page` step marks where a page of the form starts, and
 * rekey notes the URL of the top page and of each named frame there. When
 * the session expires (on the top page, in a frame or in a popup), the
 * target signs in again, within `login.budget` sign-ins per form, and
 * resumes from the start of the form, or (`login.resume: page`) from the
 * last page started: the noted URLs are opened again (the top page first,
 * then each named frame whose URL differs) and the steps go on from the
 * marker. Resuming a page suits applications that keep a form's draft
 * across sign-ins (its URL names the draft).
 */
import type { Step } from './browser.config.js';
import { SessionExpired } from './browser.errors.js';
import { expiredIn, namedFrame, namedFrameUrls } from './browser.scope.js';
import { runSteps, type PageWatch, type StepEnv, type StepHook } from './browser.steps.js';

/** Where a page of the form started: the index of its `page` step, the top page's URL and each named frame's. */
export interface Checkpoint {
  index: number;
  name: string;
  top: string;
  frames: [string, string][];
}

/**
 * Runs the form's top-level `steps` from the start, or after `from` (its
 * URLs opened again first); calls `reached` at each `page` step passed,
 * and awaits `beforeStep` (the drift guard's check) before each other step
 * and each step inside it (frames, popups), with the step's path and the
 * watch of its window.
 * Throws what {@link runSteps} throws.
 */
export async function runForm(steps: readonly Step[], watch: PageWatch, env: StepEnv, reached: (c: Checkpoint) => void, from?: Checkpoint, beforeStep?: StepHook['before']): Promise<void> {
  let start = 0;
  if (from) {
    await reopen(from, watch, env);
    start = from.index + 1;
  }
  for (let i = start; i < steps.length; i++) {
    const step = steps[i]!;
    if ('page' in step) {
      reached({ index: i, name: step.page, top: watch.page.url(), frames: namedFrameUrls(watch.page) });
      continue;
    }
    await runSteps([step], watch, env, watch.page, beforeStep && { path: () => String(i), before: beforeStep });
  }
}

async function reopen(c: Checkpoint, watch: PageWatch, env: StepEnv): Promise<void> {
  const page = watch.page;
  if (page.url() !== c.top) {
    await watch.guard(page.goto(c.top, { timeout: env.timeout }));
    if (await expiredIn(page, env.expired)) throw new SessionExpired('the session expired');
  }
  for (const [name, url] of c.frames) {
    const frame = await namedFrame(page, name, env.timeout);
    if ('url' in frame && frame.url() !== url) await watch.guard(frame.goto(url, { timeout: env.timeout }));
  }
  if (await expiredIn(page, env.expired)) throw new SessionExpired('the session expired');
}
