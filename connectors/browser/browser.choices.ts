/**
 * Per-record choices: a check box ticked or not by a templated yes/no,
 * and a radio button of a group chosen by the record's value, matched
 * against the buttons' values first, then their labels. A value the
 * screen cannot take rejects the record (`BROWSER_STEP`, reject) with a
 * message naming the step's element, never the value.
 */
import type { Locator as PwLocator } from 'playwright';
import { BrowserErrors, ConnectorFailure } from '../connector.errors.js';
import type { Scope } from './browser.scope.js';

const YES = new Set(['true', 'yes', 'y', '1', 'on', 'checked', 'x']);
const NO = new Set(['false', 'no', 'n', '0', 'off', '']);

/**
 * Whether a rendered check-box value means ticked: true, yes, y, 1, on,
 * checked, x (any case) tick; false, no, n, 0, off and empty text do not;
 * anything else rejects the record. `what` names the element in the message.
 */
export function yesNo(value: boolean | string, what: string): boolean {
  if (typeof value === 'boolean') return value;
  const v = value.trim().toLowerCase();
  if (YES.has(v)) return true;
  if (NO.has(v)) return false;
  throw new ConnectorFailure(BrowserErrors.STEP, `the value for ${what} is not yes or no (true, yes, 1, false, no, 0 or empty)`, { disposition: 'reject' });
}

/** A radio step: the group (`name` attribute, or a `selector` of the element holding the buttons), the value or label to choose, and how to match. */
export interface RadioChoice {
  group: string;
  /** Inside the element `selector` matches, rather than a `name` group. */
  container: boolean;
  value: string;
  by?: 'value' | 'label';
  exact: boolean;
  timeout: number;
}

const q = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;

/**
 * The radio button of the group whose `value` attribute is the value (unless
 * `by: label`), else whose label is (unless `by: value`); rejects the record
 * when none has it, once the group's buttons are on the page.
 */
export async function findRadio(scope: Scope, c: RadioChoice): Promise<PwLocator> {
  const buttons = c.container ? scope.locator(c.group).first().locator('input[type=radio]') : scope.locator(`input[type=radio][name=${q(c.group)}]`);
  await buttons.first().waitFor({ state: 'attached', timeout: c.timeout });
  if (c.by !== 'label') {
    const byValue = buttons.and(scope.locator(`[value=${q(c.value)}]`));
    if ((await byValue.count()) > 0) return byValue.first();
  }
  if (c.by !== 'value') {
    const byLabel = buttons.and(scope.getByLabel(c.value, { exact: c.exact }));
    if ((await byLabel.count()) > 0) return byLabel.first();
  }
  throw new ConnectorFailure(BrowserErrors.STEP, `no radio button of ${c.container ? `the group in ${c.group}` : `group "${c.group}"`} has the record's ${c.by ?? 'value or label'}`, { disposition: 'reject' });
}
