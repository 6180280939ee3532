/**
 * Takes the clerk's credentials out of a Playwright trace before it is
 * kept: every request of a signed-in form carries the session cookie, a
 * bearer credential as good as the password while the session lives. The
 * trace's network log (`*.network`, one JSON event a line) has the values
 * of its cookies and of its Cookie, Set-Cookie and Authorization headers
 * replaced; every other entry is kept as it is. Reads and writes plain zip
 * archives (stored or deflated, no zip64: a trace is far below 4 GB).
 */
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

/** What a redacted value reads. */
export const REDACTED = '[redacted]';

const CREDENTIAL_HEADERS = new Set(['cookie', 'set-cookie', 'authorization', 'proxy-authorization']);

/** The entries of the zip archive `zip`, in order; throws an Error for bytes that are not a zip this reads. */
export function readZip(zip: Buffer): [string, Buffer][] {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip archive');
  const out: [string, Buffer][] = [];
  let p = zip.readUInt32LE(end + 16);
  for (let n = zip.readUInt16LE(end + 10); n > 0; n--) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('a broken zip directory');
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const skip = nameLen + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    if (method !== 0 && method !== 8) throw new Error(`zip method ${method} is not read here`);
    out.push([zip.subarray(p + 46, p + 46 + nameLen).toString('utf8'), method === 8 ? inflateRawSync(data) : Buffer.from(data)]);
    p += 46 + skip;
  }
  return out;
}

/** A zip archive of `entries` (deflated, names in UTF-8). */
export function writeZip(entries: readonly [string, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name, 'utf8');
    const packed = deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x0800, 8);
    dir.writeUInt16LE(8, 10);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(packed.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(n.length, 28);
    dir.writeUInt32LE(offset, 42);
    parts.push(local, n, packed);
    central.push(dir, n);
    offset += local.length + n.length + packed.length;
  }
  const size = central.reduce((a, b) => a + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

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
  const entries = readZip(zip).map(([name, data]): [string, Buffer] => {
    if (!name.endsWith('.network')) return [name, data];
    const lines = data.toString('utf8').split('\n').map(redactLine).filter((l) => l !== undefined);
    return [name, Buffer.from(lines.join('\n'), 'utf8')];
  });
  return writeZip(entries);
}
