/**
 * `target.config` of kind `browser`: the steps a clerk takes in the legacy
 * web UI, declared in the pipeline, and their JSON Schema. Each step is a
 * mapping of exactly one step kind (`- fill: {...}`), with every key of
 * every kind declared, so a misspelt kind or option is reported at its
 * line and column by `rekey validate`. Declared once: the JSON Schema, the
 * types and the defaults derive from one typebox schema.
 */
import { Type, type Static, type TObject, type TProperties, type TSchema } from 'typebox';
import { closed, defaultsOf, mapOf, oneOf, withDefault } from '../config.schema.js';
import { dialogRuleSchema } from './browser.dialogs.js';
import { normaliseSchema } from './browser.readback.js';

const str = (description: string) => Type.String({ minLength: 1, description });
const optStr = (description: string) => Type.Optional(str(description));
const optBool = (description?: string) => Type.Optional(Type.Boolean(description === undefined ? {} : { description }));
const yesNo = (description: string) => Type.Optional(Type.Unsafe<boolean | string>({ oneOf: [{ type: 'boolean' }, { type: 'string' }], description }));
const timeout = Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, description: 'Milliseconds this step may take.' }));
const obj = <P extends TProperties>(props: P, description: string) => closed(props, { description });
const locatorProps = {
  label: optStr('The field\'s label text.'),
  name: optStr('The element\'s name attribute.'),
  selector: optStr('A CSS (or Playwright) selector.'),
  role: Type.Optional(
    Type.Enum(['button', 'link', 'textbox', 'checkbox', 'radio', 'combobox', 'option', 'tab', 'menuitem'], { type: 'string', description: 'ARIA role; `text` gives its accessible name.' }),
  ),
  text: optStr('Text of the element (with `role`: its accessible name).'),
  exact: optBool('Exact match of label, role name or text; default true.'),
  timeout,
};

/** Where an element is: by label, `name` attribute, CSS selector, ARIA role (with `text` as its accessible name) or text; `exact` match by default; `timeout` of its step. */
export type Locator = Static<TObject<typeof locatorProps>>;

/** The step kinds; `steps` is the schema of the nested step lists of `frame` and `popup`. */
function stepKinds<S extends TSchema>(steps: S) {
  return {
    goto: str('URL to open, relative to baseUrl; a template.'),
    fill: obj({ ...locatorProps, value: Type.String({ description: 'Text to type; a template.' }), skipEmpty: optBool('Leave the field alone when the value is empty.') }, 'Types a value into a field.'),
    select: obj({ ...locatorProps, value: Type.String({ description: 'Option value or label; a template.' }), skipEmpty: optBool() }, 'Chooses an option of a select.'),
    check: obj({ ...locatorProps, checked: yesNo('Default true; a template is read as yes/no.') }, 'Ticks (or unticks) a checkbox or radio.'),
    uncheck: obj({ ...locatorProps, unchecked: yesNo('Default true; a template is read as yes/no.') }, 'Unticks (or ticks) a checkbox.'),
    radio: obj(
      {
        name: optStr('Group name.'),
        selector: optStr('Element holding the group.'),
        value: Type.String({ description: 'Value or label; a template.' }),
        by: Type.Optional(Type.Unsafe<'value' | 'label'>({ enum: ['value', 'label'] })),
        exact: optBool(),
        skipEmpty: optBool(),
        timeout,
      },
      'Chooses a radio button by value or label.',
    ),
    click: oneOf([str('Selector of the element to click.'), obj(locatorProps, 'The element to click.')]),
    press: obj({ ...locatorProps, key: str('Key, e.g. Enter or Tab.') }, 'Presses a key in an element.'),
    waitFor: obj({ text: optStr('Text to appear.'), selector: optStr('Selector to appear.'), url: optStr('Text the URL is to contain.'), timeout }, 'Waits for text, an element or a URL.'),
    expect: obj({ success: str('Selector (or text=...) that shows success.'), error: optStr('Selector of the page\'s own error message: its text rejects the record.'), timeout }, 'Waits for success or the page\'s error message.'),
    dialog: Type.Enum(['accept', 'dismiss'], { type: 'string', description: 'What to do with the dialogs (confirm, alert) that follow.' }),
    frame: obj({ selector: optStr('Selector of the iframe.'), name: optStr('Frame name; goto navigates it.'), steps }, 'Steps inside a frame.'),
    page: str('Where a page starts (login.resume: page).'),
    popup: obj({ open: obj(locatorProps, 'The element whose click opens the popup.'), steps }, 'Steps inside a popup window opened by a click.'),
    upload: obj(
      { ...locatorProps, path: optStr('File to upload (a template), relative to the pipeline file.'), content: Type.Optional(Type.String({ description: 'Text to upload as a file (a template).' })), fileName: optStr('Name of the uploaded content (a template).') },
      'Uploads a file into a file input.',
    ),
    capture: obj(
      { selector: str('Element whose text is captured.'), regex: optStr('Regular expression; its first group (or whole match) is kept.'), as: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Name of the capture; default ref.' })), timeout },
      'Captures a value shown on the page.',
    ),
    screenshot: obj({ name: str('File name (a template) in the evidence folder, without .png.') }, 'Saves a screenshot as evidence.'),
  };
}

/** One step of the kinds `K`: an object of exactly one of them. */
type OneStep<K extends TProperties> = { [N in keyof K]: { [P in N]: Static<K[N]> } }[keyof K];

/** The step kinds, in the order the docs list them. */
export const STEP_KINDS = ['goto', 'fill', 'select', 'check', 'uncheck', 'radio', 'click', 'press', 'waitFor', 'expect', 'dialog', 'frame', 'page', 'popup', 'upload', 'capture', 'screenshot'] as const;

function stepSchema<K extends TProperties>(kinds: K) {
  const description = `One step: exactly one of ${STEP_KINDS.join(', ')}.`;
  return Type.Unsafe<OneStep<K>>({ type: 'object', minProperties: 1, maxProperties: 1, additionalProperties: false, properties: kinds, description });
}

const stepList = <S extends TSchema>(step: S) => Type.Array(step, { minItems: 1 });
/** `schema` without its descriptions: steps nested in frames and popups, whose kinds the top-level steps describe (keeps the published pipeline schema small). */
const brief = <T>(schema: T): T => JSON.parse(JSON.stringify(schema, (k, v: unknown) => (k === 'description' ? undefined : v))) as T;
const { frame: _frame, popup: _popup, ...plainKinds } = stepKinds(Type.Object({}));
const plainStep = brief(stepSchema(plainKinds));
const nestedStep = brief(stepSchema(stepKinds(stepList(plainStep))));
const { popup: _probePopup, ...probeKinds } = stepKinds(stepList(plainStep));
const probeStep = stepSchema(probeKinds);

/** JSON Schema (draft-07) of one step: a popup in a frame (or a frame in a popup) holds plain steps. */
export const stepJsonSchema = stepSchema(stepKinds(stepList(nestedStep)));

/** One step. Texts are templates: `{{FIELD}}` from the mapped record, `{{ref}}` and other captures, `{{key}}`, `{{login.username}}`. */
export type Step = Static<typeof stepJsonSchema>;

const TRACE_MODES = ['retries', 'always', 'off'] as const;

/**
 * Which forms are traced (Playwright trace with DOM snapshots, kept when the
 * form fails): `retries`, forms on a retry or after an uncertain attempt;
 * `always`, every form (measured here: about a fifth more time per form);
 * `off`, none. A failure always keeps a screenshot.
 */
export type TraceMode = (typeof TRACE_MODES)[number];

const evidenceSchema = obj(
  {
    folder: optStr('Evidence folder, relative to the pipeline file.'),
    confirmations: optBool('Screenshot every confirmation page.'),
    traces: withDefault(
      Type.Unsafe<TraceMode | boolean>({
        enum: [...TRACE_MODES, true, false],
        description: 'Playwright traces (with DOM snapshots), kept on failure: of forms on a retry or after an uncertain attempt (retries, the default), of every form (always; true), or none (off; false).',
      }),
      'retries',
    ),
  },
  'Where screenshots and traces go.',
);

const loginSchema = obj(
  {
    username: str('User ID: { env: NAME }.'),
    password: str('Password: { env: NAME }.'),
    steps: stepList(plainStep),
    expired: obj({ url: optStr('Text of the sign-in page\'s URL.'), selector: optStr('Selector shown only when signed out.') }, 'How an expired session shows (on the page, in any frame, in a popup).'),
    budget: withDefault(Type.Integer({ minimum: 1, maximum: 100, description: 'Sign-ins again a form may take when its session expires; default 3.' }), 3),
    resume: withDefault(Type.Unsafe<'form' | 'page'>({ enum: ['form', 'page'], description: 'After signing in again: start the form over (form, default) or resume at the last page step reached (page).' }), 'form'),
  },
  'Signing in, again whenever the session has expired.',
);

/** JSON Schema (draft-07) of {@link BrowserConfig}. */
export const browserConfigSchema = closed({
  baseUrl: Type.String({ pattern: '^https?://', description: 'Base of relative URLs, e.g. http://dcs.internal:8080.' }),
  executablePath: optStr('Chromium to run; default Playwright\'s own, else /usr/bin/chromium-headless-shell, else /usr/bin/chromium.'),
  contexts: Type.Optional(Type.Integer({ minimum: 1, maximum: 32, description: 'Signed-in browser contexts keying at once; default the pipeline’s limits.concurrency.' })),
  recycleContextAfter: withDefault(Type.Integer({ minimum: 1, description: 'Forms per context before it is replaced; default 50.' }), 50),
  restartBrowserAfter: withDefault(Type.Integer({ minimum: 1, description: 'Forms before the browser is restarted; default 500.' }), 500),
  stepTimeoutMs: withDefault(Type.Integer({ minimum: 100, maximum: 600_000, description: 'Default time a step may take (ms); default 15000.' }), 15_000),
  evidence: Type.Optional(evidenceSchema),
  login: Type.Optional(loginSchema),
  steps: stepList(stepJsonSchema),
  dialogs: Type.Optional(Type.Array(dialogRuleSchema, { description: 'What dialogs mean, first match wins; a dialog no rule matches (and no dialog: step expects) ends the attempt.' })),
  reference: withDefault(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Capture holding the legacy reference; default ref.' }), 'ref'),
  probe: Type.Optional(
    obj(
      { steps: stepList(probeStep), frame: optStr('Name of the frame that shows found and notFound; default the page.'), found: str('Selector of a search result.'), notFound: str('Selector (or text=...) of the no-result message.'), regex: optStr('Regular expression for the reference in the result\'s text.') },
      'Searching the legacy UI for a record that may be keyed already.',
    ),
  ),
  readBack: Type.Optional(
    obj(
      {
        goto: str('Page of the created record (a template with {{ref}}).'),
        fields: mapOf(
          oneOf([
            str('Selector showing the field\'s value.'),
            obj(
              { selector: str('Selector showing the value.'), expect: Type.Optional(Type.String({ description: 'Template of what it should read; default the field\'s value.' })), normalise: Type.Optional(normaliseSchema) },
              'Selector, the expected text, and transforms applied to both before comparing.',
            ),
          ]),
          { minProperties: 1 },
        ),
      },
      'Reading the created record back, field by field.',
    ),
  ),
});

/** `target.config` of kind `browser`: the legacy UI's base URL, the steps of one form, and how to sign in, find a keyed record and read it back. */
export type BrowserConfig = Static<typeof browserConfigSchema>;

/** Signing in; run on a fresh context and again whenever `expired` matches (the page's URL contains `url`, or `selector` is on the page). */
export type LoginConfig = NonNullable<BrowserConfig['login']>;

/** Finding a record already keyed (after an uncertain attempt): steps that search, then `found` (whose text, or `regex`'s first group, is the reference) or `notFound` appears. */
export type ProbeConfig = NonNullable<BrowserConfig['probe']>;

/** Reading the created case back: its page, and per mapping field where the value shows (or a template of what it should read). */
export type ReadBackConfig = NonNullable<BrowserConfig['readBack']>;

/** Defaults of {@link BrowserConfig}. */
export const BROWSER_DEFAULTS = defaultsOf(browserConfigSchema);

/** Defaults of {@link LoginConfig}: sign-ins per form, where to resume. */
export const BROWSER_LOGIN_DEFAULTS = defaultsOf(loginSchema);

/** The trace mode a config asks for (`true` is `always`, `false` is `off`; default `retries`). */
export function traceMode(v: TraceMode | boolean | undefined): TraceMode {
  const mode = v ?? defaultsOf(evidenceSchema).traces;
  return mode === true ? 'always' : mode === false ? 'off' : mode;
}
