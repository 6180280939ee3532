/**
 * Checks of a browser config beyond its JSON Schema, made when the target
 * is built (and so by `rekey validate`): every template parses and names a
 * mapping field, a capture or a built-in name; each element step says
 * where its element is; regular expressions compile. Problems name the
 * step by its path in the config (`steps[3].fill`).
 */
import type { BrowserConfig, Locator, Step } from './browser.config.js';
import { checkDialogRules } from './browser.dialogs.js';
import { checkReadBack } from './browser.readback.js';
import { parseTemplate, templateNames } from './browser.template.js';

const BUILT_IN = ['key', 'login.username', 'login.password'];

/** Every problem of `config`; `fields` are the mapping's field names when known. */
export function checkBrowserConfig(config: BrowserConfig, fields: readonly string[] | undefined): string[] {
  const problems: string[] = [];
  const captures = new Set<string>([config.reference ?? 'ref']);
  const collect = (steps: Step[]) =>
    steps.forEach((s) => {
      if ('capture' in s) captures.add(s.capture.as ?? 'ref');
      if ('frame' in s) collect(s.frame.steps);
      if ('popup' in s) collect(s.popup.steps);
    });
  collect(config.steps);
  const known = (name: string) => BUILT_IN.includes(name) || captures.has(name) || fields === undefined || fields.includes(name);
  const tpl = (at: string, text: string | undefined, login = false) => {
    if (text === undefined) return;
    try {
      for (const n of templateNames(parseTemplate(text))) {
        if (n.startsWith('login.') && !login) problems.push(`${at}: {{${n}}} can only be used in login steps`);
        else if (!known(n)) problems.push(`${at}: {{${n}}} is not a field of the mapping, a capture or one of ${BUILT_IN.join(', ')}`);
      }
    } catch (e) {
      problems.push(`${at}: ${(e as Error).message}`);
    }
  };
  const re = (at: string, r: string | undefined) => {
    if (r === undefined) return;
    try {
      new RegExp(r);
    } catch (e) {
      problems.push(`${at}: ${(e as Error).message}`);
    }
  };
  const loc = (at: string, l: Locator, login: boolean) => {
    const given = (['label', 'name', 'selector', 'role', 'text'] as const).filter((k) => l[k] !== undefined);
    if (!given.length) problems.push(`${at}: say where the element is with one of label, name, selector, role, text`);
    else if (given.length > 1 && !(given.length === 2 && given.includes('role') && given.includes('text'))) problems.push(`${at}: give one of label, name, selector, role (with text); got ${given.join(', ')}`);
    for (const k of ['label', 'name', 'selector', 'text'] as const) tpl(`${at}.${k}`, l[k], login);
  };
  const yesNo = (at: string, v: boolean | string | undefined, login: boolean) => (typeof v === 'string' ? tpl(at, v, login) : undefined);
  const walk = (steps: Step[], at: string, login: boolean, top = false) =>
    steps.forEach((s, i) => {
      const here = `${at}[${i}]`;
      if ('goto' in s) tpl(`${here}.goto`, s.goto, login);
      else if ('page' in s) {
        if (!top) problems.push(`${here}.page: a page starts only at the top level of the form's steps`);
      } else if ('uncheck' in s) {
        loc(`${here}.uncheck`, s.uncheck, login);
        yesNo(`${here}.uncheck.unchecked`, s.uncheck.unchecked, login);
      } else if ('radio' in s) {
        if ((s.radio.name === undefined) === (s.radio.selector === undefined)) problems.push(`${here}.radio: give the group by either name or selector`);
        for (const k of ['name', 'selector', 'value'] as const) tpl(`${here}.radio.${k}`, s.radio[k], login);
      }
      else if ('fill' in s || 'select' in s) {
        const v = 'fill' in s ? s.fill : s.select;
        const kind = 'fill' in s ? 'fill' : 'select';
        loc(`${here}.${kind}`, v, login);
        tpl(`${here}.${kind}.value`, v.value, login);
      } else if ('check' in s) {
        loc(`${here}.check`, s.check, login);
        yesNo(`${here}.check.checked`, s.check.checked, login);
      }
      else if ('click' in s) {
        if (typeof s.click === 'string') tpl(`${here}.click`, s.click, login);
        else loc(`${here}.click`, s.click, login);
      } else if ('press' in s) loc(`${here}.press`, s.press, login);
      else if ('waitFor' in s) {
        if (s.waitFor.text === undefined && s.waitFor.selector === undefined && s.waitFor.url === undefined) problems.push(`${here}.waitFor: say what to wait for with text, selector or url`);
        for (const k of ['text', 'selector', 'url'] as const) tpl(`${here}.waitFor.${k}`, s.waitFor[k], login);
      } else if ('expect' in s) {
        tpl(`${here}.expect.success`, s.expect.success, login);
        tpl(`${here}.expect.error`, s.expect.error, login);
      } else if ('frame' in s) {
        if ((s.frame.name === undefined) === (s.frame.selector === undefined)) problems.push(`${here}.frame: give the frame by either name or selector`);
        tpl(`${here}.frame.name`, s.frame.name, login);
        tpl(`${here}.frame.selector`, s.frame.selector, login);
        walk(s.frame.steps, `${here}.frame.steps`, login);
      }
      else if ('popup' in s) {
        loc(`${here}.popup.open`, s.popup.open, login);
        walk(s.popup.steps, `${here}.popup.steps`, login);
      } else if ('upload' in s) {
        loc(`${here}.upload`, s.upload, login);
        if ((s.upload.path === undefined) === (s.upload.content === undefined)) problems.push(`${here}.upload: give either path or content`);
        tpl(`${here}.upload.path`, s.upload.path, login);
        tpl(`${here}.upload.content`, s.upload.content, login);
        tpl(`${here}.upload.fileName`, s.upload.fileName, login);
      } else if ('capture' in s) {
        tpl(`${here}.capture.selector`, s.capture.selector, login);
        re(`${here}.capture.regex`, s.capture.regex);
      } else if ('screenshot' in s) tpl(`${here}.screenshot.name`, s.screenshot.name, login);
    });
  if (config.login) walk(config.login.steps, 'login.steps', true);
  walk(config.steps, 'steps', false, true);
  if (config.probe) {
    walk(config.probe.steps, 'probe.steps', false);
    re('probe.regex', config.probe.regex);
  }
  if (config.readBack) {
    tpl('readBack.goto', config.readBack.goto);
    for (const [name, f] of Object.entries(config.readBack.fields)) {
      if (fields !== undefined && !fields.includes(name)) problems.push(`readBack.fields.${name}: not a field of the mapping`);
      if (typeof f !== 'string' && f.expect !== undefined) tpl(`readBack.fields.${name}.expect`, f.expect);
    }
  }
  if (config.login && !config.login.expired.url && !config.login.expired.selector) problems.push('login.expired: give url or selector');
  if (config.login?.resume === 'page' && !config.steps.some((s) => 'page' in s)) problems.push('login.resume: page needs page steps marking where each page of the form starts');
  problems.push(...checkDialogRules(config.dialogs), ...checkReadBack(config.readBack));
  for (const r of config.dialogs ?? []) tpl('dialogs.answer', r.answer);
  return problems;
}
