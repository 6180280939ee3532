/**
 * Secrets taken out of text that may be shown (errors, logs, status): a
 * URL's password, and given secret values in any form they may take in a
 * driver's message. Pure.
 */

/** `scheme://user:password@`: the password runs to the last `@` of the authority. */
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^/?#]*@/i;

/** `url` fit to show: the password (if any) replaced by `***`, everything else as written. Never throws. */
export function redactUrl(url: string): string {
  return url.replace(URL_PASSWORD, '$1:***@');
}

/** The password as written in `url` (maybe URL-encoded), or undefined when it has none. */
function writtenPassword(url: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:([^/?#]*)@/i.exec(url);
  return m?.[1] || undefined;
}

/** `text` with every occurrence of each of `secrets`, as given, URL-encoded or URL-decoded, replaced by `***`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    for (const form of new Set([s, encodeURIComponent(s), decodeSafe(s)])) if (form.length > 0) out = out.split(form).join('***');
  }
  return out;
}

/** `text` with `url` shown as {@link redactUrl} shows it, and the URL's password (in any form) replaced by `***` wherever else it occurs. */
export function redactUrlIn(text: string, url: string): string {
  const out = text.split(url).join(redactUrl(url));
  const password = writtenPassword(url);
  return password === undefined ? out : redactSecrets(out, [password]);
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const QUOTED = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\\n]|\\.)*`|“[^”\n]*”|‘[^’\n]*’/g;

/**
 * The message of an error rekey did not raise itself (a library's, a
 * runtime's), made safe to store or print: every quoted passage, where
 * such messages echo the data they choked on (JSON.parse quotes its input,
 * databases quote duplicate values), becomes `"…"`, and the whole is cut
 * to its first line and 300 characters.
 */
export function scrubMessage(text: string): string {
  const line = text.split('\n')[0] ?? '';
  const scrubbed = line.replace(QUOTED, '"…"');
  return scrubbed.length > 300 ? `${scrubbed.slice(0, 299)}…` : scrubbed;
}
