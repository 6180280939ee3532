/**
 * `target.config` of kind `browser`: the steps a clerk takes in the legacy
 * web UI, declared in the pipeline, and their JSON Schema. Each step is a
 * mapping of exactly one step kind (`- fill: {...}`), with every key of
 * every kind declared, so a misspelt kind or option is reported at its
 * line and column by `rekey validate`.
 */

/** Where an element is: by label, `name` attribute, CSS selector, ARIA role (with `text` as its accessible name) or text. */
export interface Locator {
  label?: string;
  name?: string;
  selector?: string;
  role?: string;
  text?: string;
  /** Exact match of label, role name or text; default true. */
  exact?: boolean;
}

/** Per-step options. */
interface StepOptions {
  /** Milliseconds this step may take; default `stepTimeoutMs`. */
  timeout?: number;
}

/** One step. Texts are templates: `{{FIELD}}` from the mapped record, `{{ref}}` and other captures, `{{key}}`, `{{login.username}}`. */
export type Step =
  | { goto: string }
  | { fill: Locator & StepOptions & { value: string; skipEmpty?: boolean } }
  | { select: Locator & StepOptions & { value: string; skipEmpty?: boolean } }
  | { check: Locator & StepOptions & { checked?: boolean } }
  | { click: string | (Locator & StepOptions) }
  | { press: Locator & StepOptions & { key: string } }
  | { waitFor: StepOptions & { text?: string; selector?: string; url?: string } }
  | { expect: StepOptions & { success: string; error?: string } }
  | { dialog: 'accept' | 'dismiss' }
  | { frame: { selector: string; steps: Step[] } }
  | { popup: { open: Locator & StepOptions; steps: Step[] } }
  | { upload: Locator & StepOptions & { path?: string; content?: string; fileName?: string } }
  | { capture: StepOptions & { selector: string; regex?: string; as?: string } }
  | { screenshot: { name: string } };

/** The step kinds, in the order the docs list them. */
export const STEP_KINDS = ['goto', 'fill', 'select', 'check', 'click', 'press', 'waitFor', 'expect', 'dialog', 'frame', 'popup', 'upload', 'capture', 'screenshot'] as const;

/** Signing in; run on a fresh context and again whenever `expired` matches. */
export interface LoginConfig {
  username: string;
  password: string;
  steps: Step[];
  /** How an expired session shows: the page's URL contains `url`, or `selector` is on the page. */
  expired: { url?: string; selector?: string };
}

/** Finding a record already keyed (after an uncertain attempt): steps that search, then `found` or `notFound` appears. */
export interface ProbeConfig {
  steps: Step[];
  /** Selector of a result; the reference is captured from its text (or `regex`'s first group). */
  found: string;
  /** Selector or `text=` of the no-result message. */
  notFound: string;
  regex?: string;
}

/** Reading the created case back: its page, and per mapping field where the value shows (or a template of what it should read). */
export interface ReadBackConfig {
  goto: string;
  fields: Record<string, string | { selector: string; expect: string }>;
}

/**
 * Which forms are traced (Playwright trace with DOM snapshots, kept when the
 * form fails): `retries`, forms on a retry or after an uncertain attempt;
 * `always`, every form (measured here: about a fifth more time per form);
 * `off`, none. A failure always keeps a screenshot.
 */
export type TraceMode = 'retries' | 'always' | 'off';

/** The trace mode a config asks for (`true` is `always`, `false` is `off`; default `retries`). */
export function traceMode(v: TraceMode | boolean | undefined): TraceMode {
  return v === true ? 'always' : v === false ? 'off' : (v ?? 'retries');
}

/** `target.config` of kind `browser`. */
export type BrowserConfig = {
  /** Base of relative `goto` URLs. */
  baseUrl: string;
  /** Chromium to run; default: Playwright's own, else /usr/bin/chromium-headless-shell, else /usr/bin/chromium. */
  executablePath?: string;
  /** Browser contexts (signed-in clerks) keying at once; default the pipeline's `limits.concurrency`. */
  contexts?: number;
  /** A context is replaced after this many forms; default 50. */
  recycleContextAfter?: number;
  /** The browser is restarted after this many forms; default 500. */
  restartBrowserAfter?: number;
  /** Default time a step may take (ms); default 15000. */
  stepTimeoutMs?: number;
  /** Evidence folder (screenshots, traces), relative to the pipeline file; default `.rekey/evidence/<pipeline>`. */
  evidence?: { folder?: string; confirmations?: boolean; traces?: TraceMode | boolean };
  login?: LoginConfig;
  steps: Step[];
  /** The capture holding the legacy reference; default `ref`. */
  reference?: string;
  probe?: ProbeConfig;
  readBack?: ReadBackConfig;
};

const str = (description: string) => ({ type: 'string', minLength: 1, description });
const timeout = { type: 'integer', minimum: 1, maximum: 600_000, description: 'Milliseconds this step may take.' };
const locatorProps = {
  label: str('The field\'s label text.'),
  name: str('The element\'s name attribute.'),
  selector: str('A CSS (or Playwright) selector.'),
  role: { type: 'string', enum: ['button', 'link', 'textbox', 'checkbox', 'radio', 'combobox', 'option', 'tab', 'menuitem'], description: 'ARIA role; `text` gives its accessible name.' },
  text: str('Text of the element (with `role`: its accessible name).'),
  exact: { type: 'boolean', description: 'Exact match of label, role name or text; default true.' },
  timeout,
};
const obj = (props: Record<string, unknown>, required: string[], description: string) => ({ type: 'object', additionalProperties: false, required, properties: props, description });

function stepSchema(depth: number): Record<string, unknown> {
  const steps = depth > 0 ? { type: 'array', minItems: 1, items: stepSchema(depth - 1) } : {};
  const kinds: Record<string, unknown> = {
    goto: str('URL to open, relative to baseUrl; a template.'),
    fill: obj({ ...locatorProps, value: { type: 'string', description: 'Text to type; a template.' }, skipEmpty: { type: 'boolean', description: 'Leave the field alone when the value is empty.' } }, ['value'], 'Types a value into a field.'),
    select: obj({ ...locatorProps, value: { type: 'string', description: 'Option value or label; a template.' }, skipEmpty: { type: 'boolean' } }, ['value'], 'Chooses an option of a select.'),
    check: obj({ ...locatorProps, checked: { type: 'boolean', description: 'Default true.' } }, [], 'Ticks (or unticks) a checkbox or radio.'),
    click: { oneOf: [str('Selector of the element to click.'), obj(locatorProps, [], 'The element to click.')] },
    press: obj({ ...locatorProps, key: str('Key, e.g. Enter or Tab.') }, ['key'], 'Presses a key in an element.'),
    waitFor: obj({ text: str('Text to appear.'), selector: str('Selector to appear.'), url: str('Text the URL is to contain.'), timeout }, [], 'Waits for text, an element or a URL.'),
    expect: obj({ success: str('Selector (or text=...) that shows success.'), error: str('Selector of the page\'s own error message: its text rejects the record.'), timeout }, ['success'], 'Waits for success or the page\'s error message.'),
    dialog: { type: 'string', enum: ['accept', 'dismiss'], description: 'What to do with the dialogs (confirm, alert) that follow.' },
    frame: obj({ selector: str('Selector of the iframe.'), steps }, ['selector', 'steps'], 'Steps inside a frame.'),
    popup: obj({ open: obj(locatorProps, [], 'The element whose click opens the popup.'), steps }, ['open', 'steps'], 'Steps inside a popup window opened by a click.'),
    upload: obj({ ...locatorProps, path: str('File to upload (a template), relative to the pipeline file.'), content: { type: 'string', description: 'Text to upload as a file (a template).' }, fileName: str('Name of the uploaded content (a template).') }, [], 'Uploads a file into a file input.'),
    capture: obj({ selector: str('Element whose text is captured.'), regex: str('Regular expression; its first group (or whole match) is kept.'), as: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Name of the capture; default ref.' }, timeout }, ['selector'], 'Captures a value shown on the page.'),
    screenshot: obj({ name: str('File name (a template) in the evidence folder, without .png.') }, ['name'], 'Saves a screenshot as evidence.'),
  };
  if (depth === 0) {
    delete kinds.frame;
    delete kinds.popup;
  }
  return { type: 'object', minProperties: 1, maxProperties: 1, additionalProperties: false, properties: kinds, description: `One step: exactly one of ${STEP_KINDS.join(', ')}.` };
}

/** JSON Schema (draft-07) of one step: a popup in a frame (or a frame in a popup) holds plain steps. */
export const stepJsonSchema = stepSchema(2);
const stepList = { type: 'array', minItems: 1, items: stepJsonSchema };
const plainStepList = { type: 'array', minItems: 1, items: stepSchema(0) };

/** JSON Schema (draft-07) of {@link BrowserConfig}. */
export const browserConfigSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['baseUrl', 'steps'],
  properties: {
    baseUrl: { type: 'string', pattern: '^https?://', description: 'Base of relative URLs, e.g. http://dcs.internal:8080.' },
    executablePath: str('Chromium to run; default Playwright\'s own, else /usr/bin/chromium-headless-shell, else /usr/bin/chromium.'),
    contexts: { type: 'integer', minimum: 1, maximum: 32, description: 'Signed-in browser contexts keying at once; default the pipeline’s limits.concurrency.' },
    recycleContextAfter: { type: 'integer', minimum: 1, description: 'Forms per context before it is replaced; default 50.' },
    restartBrowserAfter: { type: 'integer', minimum: 1, description: 'Forms before the browser is restarted; default 500.' },
    stepTimeoutMs: { type: 'integer', minimum: 100, maximum: 600_000, description: 'Default time a step may take (ms); default 15000.' },
    evidence: obj({ folder: str('Evidence folder, relative to the pipeline file.'), confirmations: { type: 'boolean', description: 'Screenshot every confirmation page.' }, traces: { enum: ['retries', 'always', 'off', true, false], description: 'Playwright traces (with DOM snapshots), kept on failure: of forms on a retry or after an uncertain attempt (retries, the default), of every form (always; true), or none (off; false).' } }, [], 'Where screenshots and traces go.'),
    login: obj({ username: str('User ID: { env: NAME }.'), password: str('Password: { env: NAME }.'), steps: plainStepList, expired: obj({ url: str('Text of the sign-in page\'s URL.'), selector: str('Selector shown only when signed out.') }, [], 'How an expired session shows.') }, ['username', 'password', 'steps', 'expired'], 'Signing in, again whenever the session has expired.'),
    steps: stepList,
    reference: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Capture holding the legacy reference; default ref.' },
    probe: obj({ steps: plainStepList, found: str('Selector of a search result.'), notFound: str('Selector (or text=...) of the no-result message.'), regex: str('Regular expression for the reference in the result\'s text.') }, ['steps', 'found', 'notFound'], 'Searching the legacy UI for a record that may be keyed already.'),
    readBack: obj({ goto: str('Page of the created record (a template with {{ref}}).'), fields: { type: 'object', minProperties: 1, additionalProperties: { oneOf: [str('Selector showing the field\'s value.'), obj({ selector: str('Selector showing the value.'), expect: { type: 'string', description: 'Template of what it should read.' } }, ['selector', 'expect'], 'Selector and the expected text.')] } } }, ['goto', 'fields'], 'Reading the created record back, field by field.'),
  },
};
