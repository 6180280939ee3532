/**
 * What the recording tests share: replaying recorded steps in a headless
 * Chromium of their own, with the recording's dialog rules and another
 * record's values, the way the browser target keys a form.
 */
import type { BrowserConfig, Step } from './browser.config.js';
import { DialogRules } from './browser.dialogs.js';
import { PageWatch, runSteps } from './browser.steps.js';
import { parseTemplate, renderTemplate } from './browser.template.js';
import { launchChromium } from './chromium.js';

/**
 * Runs `steps` in a new headless page at `baseUrl`, templates and prompt
 * answers filled from `record`, dialogs answered by `dialogs`; rejects
 * when a step fails or the page's watch saw a fault (a dialog no rule
 * answers, a 5xx answer, a crash).
 */
export async function replayRecorded(steps: Step[], dialogs: NonNullable<BrowserConfig['dialogs']>, record: Readonly<Record<string, unknown>>, baseUrl: string, baseDir: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const watch = new PageWatch(await browser.newPage());
    watch.rules = new DialogRules(dialogs);
    watch.render = (t) => renderTemplate(parseTemplate(t), (n) => record[n]);
    await runSteps(steps, watch, { baseUrl, baseDir, timeout: 8000, lookup: (n) => record[n], capture: () => undefined, screenshot: () => Promise.resolve(undefined) });
    watch.check();
  } finally {
    await browser.close();
  }
}
