/**
 * The script `rekey record` injects into every page and frame (with
 * `addInitScript`): it watches what the clerk does and reports each action
 * through the `__rekeyRecord` binding as a {@link PageEvent}. It runs in
 * the legacy app's pages, so it is plain JavaScript kept as text (no
 * bundler helpers can leak into it). It reports, never changes, what the
 * page does; its only wrappers are around `alert`, `confirm` and `prompt`,
 * which call the originals and report how each was answered (a prompt's
 * answer too). A `beforeunload` dialog is not the page's to report: the
 * recorder sees it from Playwright (browser.record.ts).
 */

/** Where an element is, as the page sees it: each candidate unique in its document, best first (label, role and name, name attribute, id, structural CSS). */
export type Candidate = { label: string } | { role: string; text: string } | { name: string } | { selector: string };

/** One action of the clerk, reported by the page. */
export interface PageEvent {
  kind: 'fill' | 'select' | 'check' | 'click' | 'press' | 'upload' | 'dialog';
  /** Milliseconds since the epoch when it happened (the page's clock, the machine's). */
  ts: number;
  /** Order within the document, for events of one millisecond. */
  seq: number;
  loc?: Candidate[];
  /** Words naming the element (its label, name and id), to tell apart fields of equal value. */
  hint?: string;
  value?: string;
  /** Reported by a popup through its opener (a popup that closes itself may be gone before its own report arrives). */
  popup?: boolean;
  /** A select: the chosen option's text. */
  optionText?: string;
  checked?: boolean;
  radio?: boolean;
  key?: string;
  /** The element is a password field: its value is never written. */
  secret?: boolean;
  fileName?: string;
  /** An upload's text, when the file is small text; absent otherwise. */
  content?: string;
  dialogType?: 'alert' | 'confirm' | 'prompt' | 'beforeunload';
  accepted?: boolean;
  /** A prompt's answer, when it was answered. */
  answer?: string;
  /** A dialog's message: the legacy app's words, which may quote citizen data (never written as it stands). */
  message?: string;
}

/** The binding the script reports through. */
export const RECORD_BINDING = '__rekeyRecord';

/** The script's text. */
export const RECORD_SCRIPT = String.raw`(() => {
  if (document.__rekeyRecording) return;
  document.__rekeyRecording = true;
  let seq = 0;
  const deliver = (e) => {
    try {
      const o = window.top === window ? window.opener : null;
      if (o && !o.closed && typeof o.${RECORD_BINDING} === 'function') { o.${RECORD_BINDING}(Object.assign({}, e, { popup: true })); return; }
    } catch (_) {}
    try { window.${RECORD_BINDING}(e); } catch (_) {}
  };
  const send = (e, ts) => { e.ts = ts || Date.now(); e.seq = seq++; deliver(e); };
  const norm = (s) => String(s == null ? '' : s).replace(/\s+/g, ' ').trim();
  const FIELDS = 'input, select, textarea';
  const ACTIONS = 'button, a[href], input[type=submit], input[type=button], input[type=reset], input[type=image], [role=button], [role=link], [role=tab], [role=menuitem], [onclick]';
  const labelOf = (el) => {
    const aria = el.getAttribute('aria-label');
    if (aria) return norm(aria);
    const by = el.getAttribute('aria-labelledby');
    if (by) return norm(by.split(/\s+/).map((id) => { const l = document.getElementById(id); return l ? l.textContent : ''; }).join(' '));
    if (el.labels && el.labels.length) return norm(el.labels[0].textContent);
    return '';
  };
  const roleOf = (el) => {
    const r = el.getAttribute('role');
    if (r) return r;
    if (el.tagName === 'A') return 'link';
    if (el.tagName === 'BUTTON' || el.tagName === 'INPUT') return 'button';
    return '';
  };
  const nameOf = (el) => norm(el.getAttribute('aria-label') || (el.tagName === 'INPUT' ? el.value : el.textContent));
  const count = (sel, test) => Array.from(document.querySelectorAll(sel)).filter(test).length;
  const structural = (el) => {
    const parts = [];
    for (let n = el; n && n.nodeType === 1 && n !== document.documentElement; n = n.parentElement) {
      const tag = n.tagName.toLowerCase();
      if (n === document.body) { parts.unshift('body'); break; }
      const same = n.parentElement ? Array.from(n.parentElement.children).filter((c) => c.tagName === n.tagName) : [n];
      parts.unshift(same.length > 1 ? tag + ':nth-of-type(' + (same.indexOf(n) + 1) + ')' : tag);
    }
    return parts.join(' > ');
  };
  const candidates = (el, asField) => {
    const out = [];
    const label = asField ? labelOf(el) : '';
    if (label && count(FIELDS, (o) => labelOf(o) === label) === 1) out.push({ label });
    if (!asField) {
      const role = roleOf(el), text = nameOf(el);
      if (role && text && count(ACTIONS, (o) => roleOf(o) === role && nameOf(o) === text) === 1) out.push({ role, text });
    }
    const name = el.getAttribute('name');
    if (name && document.querySelectorAll('[name="' + CSS.escape(name) + '"]').length === 1) out.push({ name });
    if (el.type === 'radio' && name) out.push({ selector: 'input[name="' + CSS.escape(name) + '"][value="' + CSS.escape(el.value) + '"]' });
    if (el.id && document.querySelectorAll('#' + CSS.escape(el.id)).length === 1) out.push({ selector: '#' + CSS.escape(el.id) });
    out.push({ selector: structural(el) });
    return out;
  };
  const hintOf = (el) => norm([labelOf(el), el.getAttribute('name') || '', el.id || ''].join(' '));
  const typed = new WeakMap();
  const lastInput = new WeakMap();
  const dirty = new Set();
  const isText = (el) => el.tagName === 'TEXTAREA' || (el.tagName === 'INPUT' && !['checkbox', 'radio', 'file', 'submit', 'button', 'reset', 'image', 'hidden'].includes(el.type));
  const fill = (el) => {
    dirty.delete(el);
    if (typed.get(el) === el.value) return;
    typed.set(el, el.value);
    send({ kind: 'fill', loc: candidates(el, true), hint: hintOf(el), value: el.value, secret: el.type === 'password' }, lastInput.get(el));
  };
  const flush = (but) => { for (const el of Array.from(dirty)) if (el !== but && el.isConnected) fill(el); };
  document.addEventListener('input', (e) => {
    const el = e.target;
    if (!el || !isText(el)) return;
    flush(el);
    dirty.add(el);
    lastInput.set(el, Date.now());
  }, true);
  document.addEventListener('change', (e) => {
    const el = e.target;
    if (!el || !el.tagName) return;
    flush(el);
    if (el.tagName === 'SELECT') {
      const o = el.selectedOptions[0];
      send({ kind: 'select', loc: candidates(el, true), hint: hintOf(el), value: el.value, optionText: o ? norm(o.textContent) : '' });
    } else if (el.type === 'checkbox' || el.type === 'radio') {
      send({ kind: 'check', loc: candidates(el, true), hint: hintOf(el), checked: el.checked, radio: el.type === 'radio' });
    } else if (el.type === 'file') {
      const f = el.files && el.files[0];
      if (!f) return;
      const base = { kind: 'upload', loc: candidates(el, true), hint: hintOf(el), fileName: f.name };
      const small = f.size <= 65536 && (f.type === '' || f.type.startsWith('text/'));
      const ts = Date.now(), at = seq++;
      const done = (content) => { const e = Object.assign(base, content === undefined ? {} : { content }); e.ts = ts; e.seq = at; deliver(e); };
      if (small) f.text().then(done, () => done(undefined)); else done(undefined);
    } else if (isText(el)) fill(el);
  }, true);
  document.addEventListener('keydown', (e) => {
    const el = e.target;
    if (e.key === 'Enter' && el && el.tagName === 'INPUT' && isText(el)) {
      fill(el);
      send({ kind: 'press', loc: candidates(el, true), hint: hintOf(el), key: 'Enter' });
    }
  }, true);
  document.addEventListener('click', (e) => {
    if (!e.isTrusted || !e.target || !e.target.closest) return;
    const el = e.target.closest(ACTIONS);
    if (!el || el.closest('label') || (el.tagName === 'INPUT' && !['submit', 'button', 'reset', 'image'].includes(el.type))) return;
    flush();
    send({ kind: 'click', loc: candidates(el, false), hint: hintOf(el) });
  }, true);
  const originals = window.__rekeyDialogs || (window.__rekeyDialogs = { alert: window.alert, confirm: window.confirm, prompt: window.prompt });
  for (const k of ['alert', 'confirm', 'prompt']) {
    const original = originals[k];
    if (typeof original !== 'function') continue;
    window[k] = function (...args) {
      flush();
      const r = original.apply(this, args);
      const e = { kind: 'dialog', dialogType: k, accepted: k === 'confirm' ? r === true : k === 'prompt' ? r !== null : true, message: String(args[0] === undefined ? '' : args[0]) };
      if (k === 'prompt' && r !== null) e.answer = String(r);
      send(e);
      return r;
    };
  }
  window.addEventListener('pagehide', flush, true);
})();`;
