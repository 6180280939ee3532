/**
 * Where steps run: the page, a frame found by its name (a frameset's
 * `<frame name>` or an iframe's), which can be navigated, or an iframe
 * found by a selector. A named frame is looked up when its `frame` step
 * starts, waiting for it to be there (a frameset loads its frames after
 * the top page).
 */
import type { Frame, FrameLocator, Page } from 'playwright';
import { BrowserErrors, ConnectorFailure } from '../connector.errors.js';

/** The page, a frame, or a frame found by a selector. */
export type Scope = Page | Frame | FrameLocator;

const isPage = (s: Scope): s is Page => typeof (s as Page).mainFrame === 'function';
const isFrame = (s: Scope): s is Frame => typeof (s as Frame).parentFrame === 'function';

/** The frame named `name` inside `scope`, waiting up to `timeout` ms for it to appear; a frame inside a selector-found frame is found by selector. */
export async function namedFrame(scope: Scope, name: string, timeout: number): Promise<Scope> {
  if (!isPage(scope) && !isFrame(scope)) return scope.frameLocator(`[name="${name.replace(/["\\]/g, '\\$&')}"]`);
  const find = () => (isPage(scope) ? scope.frame({ name }) : scope.childFrames().find((f) => f.name() === name)) ?? undefined;
  const deadline = Date.now() + timeout;
  for (let f = find(); ; f = find()) {
    if (f) return f;
    if (Date.now() >= deadline) throw new ConnectorFailure(BrowserErrors.TIMEOUT, `no frame named "${name}" appeared in ${timeout}ms`);
    const page = isPage(scope) ? scope : scope.page();
    await page.waitForEvent('frameattached', { timeout: Math.min(250, Math.max(1, deadline - Date.now())) }).catch(() => undefined);
  }
}

/** Opens `url` in `scope`: the page, or the frame the steps are in. */
export async function gotoIn(scope: Scope, url: string, timeout: number): Promise<void> {
  if (isPage(scope) || isFrame(scope)) {
    await scope.goto(url, { timeout });
    return;
  }
  const frame = await (await scope.owner().elementHandle({ timeout }))?.contentFrame();
  if (!frame) throw new ConnectorFailure(BrowserErrors.STEP, 'the frame to navigate is not on the page');
  await frame.goto(url, { timeout });
}

/** The URL of each named frame of `page`, in document order (for resuming a page in a frameset). */
export function namedFrameUrls(page: Page): [string, string][] {
  return page.frames().filter((f) => f.name() !== '' && f !== page.mainFrame()).map((f) => [f.name(), f.url()]);
}

/** How a signed-out page shows: its URL contains `url`, or `selector` is on it. */
export interface ExpiredSign {
  url?: string;
  selector?: string;
}

/** True when the page, or any frame in it, shows the session has expired. */
export async function expiredIn(page: Page, sign: ExpiredSign | undefined): Promise<boolean> {
  if (!sign || page.isClosed()) return false;
  for (const f of page.frames()) {
    if (sign.url && f.url().includes(sign.url)) return true;
    if (sign.selector && (await f.locator(sign.selector).count().catch(() => 0)) > 0) return true;
  }
  return false;
}
