/**
 * Takes the clerk's credentials out of a Playwright trace before it is
 * kept: every request of a signed-in form carries the session cookie, a
 * bearer credential as good as the password while the session lives. The
 * trace's network log (`*.network`, one JSON event a line) has the values
 * of its cookies and of its Cookie, Set-Cookie and Authorization headers
 * replaced; every other entry is kept as it is. The archive is read and
 * written with fflate.
 */
import { unzipSync, zipSync, type Zippable } from 'fflate';

/** What a redacted value reads. */
export const REDACTED = '[redacted]';

const CREDENTIAL_HEADERS = new Set(['cookie', 'set-cookie', 'authorization', 'proxy-authorization']);

interface Message {
  cookies?: { value?: unknown }[];
  headers?: { name?: unknown; value?: unknown }[];
}

function redactMessage(m: Message | undefined): void {
  for (const c of m?.cookies ?? []) c.value = REDACTED;
  for (const h of m?.headers ?? []) if (typeof h.name === 'string' && CREDENTIAL_HEADERS.has(h.name.toLowerCase())) h.value = REDACTED;
}

/** One line of a trace's network log with its credentials replaced; a line that is not JSON is dropped. */
function redactLine(line: string): string | undefined {
  if (!line.trim()) return line;
  try {
    const event = JSON.parse(line) as { snapshot?: { request?: Message; response?: Message } };
    redactMessage(event.snapshot?.request);
    redactMessage(event.snapshot?.response);
    return JSON.stringify(event);
  } catch {
    return undefined;
  }
}

/** The trace archive `zip` with the cookies and credential headers of its network log replaced by {@link REDACTED}. */
export function redactTrace(zip: Buffer): Buffer {
  const entries: Zippable = {};
  for (const [name, data] of Object.entries(unzipSync(zip))) {
    if (!name.endsWith('.network')) entries[name] = data;
    else entries[name] = Buffer.from(Buffer.from(data).toString('utf8').split('\n').map(redactLine).filter((l) => l !== undefined).join('\n'), 'utf8');
  }
  return Buffer.from(zipSync(entries));
}
