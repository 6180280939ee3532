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
