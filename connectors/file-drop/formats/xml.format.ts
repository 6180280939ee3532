/**
 * XML files built with fast-xml-parser's XMLBuilder: the declaration with
 * the file's encoding, a root element (with namespace declarations and
 * attributes), then one element per mapped record, its fields as child
 * elements or attributes and its child rows as repeated elements. The
 * builder escapes `& < > " '`; tab, line feed and carriage return are
 * written as character references so that they survive parsing (parsers
 * normalise them otherwise). A character the encoding lacks is written as
 * a character reference (`&#x142;`), which every XML parser reads back as
 * the character. A character XML 1.0 does not allow (controls other than
 * tab, LF, CR; U+FFFE, U+FFFF; lone surrogates) rejects the record, naming
 * the field.
 */
import { XMLBuilder } from 'fast-xml-parser';
import { FileDropErrors } from '../../connector.errors.js';
import { valueError } from '../file-drop.errors.js';
import { describeChar, firstUnencodable, LINE_ENDINGS, replaceUnencodable, xmlEncodingName } from './encoding.js';
import { XML_DEFAULTS, XML_NAME, type XmlFormatConfig } from './xml.config.js';
import { valueText, valueTypeMessage, type FileFormat, type FormatRecord, type Formatted } from './format.types.js';

export { xmlFormatSchema, type XmlFormatConfig } from './xml.config.js';

const NAME_RE = new RegExp(XML_NAME);
const REFUSED = Symbol('refused');
type Refused = { [REFUSED]: Formatted };
/** Code points XML 1.0 does not allow: controls other than tab, LF and CR, U+FFFE, U+FFFF, lone surrogates. */
function notXml(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 ? c !== 0x09 && c !== 0x0a && c !== 0x0d : c === 0xfffe || c === 0xffff) return text[i];
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return text[i];
      i++;
    }
  }
  return undefined;
}
const ENTITIES = [
  { regex: /&/g, val: '&amp;' },
  { regex: /</g, val: '&lt;' },
  { regex: />/g, val: '&gt;' },
  { regex: /"/g, val: '&quot;' },
  { regex: /'/g, val: '&apos;' },
  { regex: /\t/g, val: '&#9;' },
  { regex: /\n/g, val: '&#10;' },
  { regex: /\r/g, val: '&#13;' },
];

function escapeAttr(text: string): string {
  let out = text;
  for (const e of ENTITIES) out = out.replace(e.regex, e.val);
  return out;
}

/** Builds the XML format; `defaultFields` (the mapping's fields) apply when the config lists none. */
export function xmlFormat(config: XmlFormatConfig, defaultFields: readonly string[] = []): FileFormat {
  const encoding = config.encoding ?? XML_DEFAULTS.encoding;
  const root = config.root ?? XML_DEFAULTS.root;
  const recordName = config.record ?? XML_DEFAULTS.record;
  const attributes = config.attributes ?? [];
  const fields = config.fields ?? defaultFields.filter((f) => !attributes.includes(f));
  const bad = [...fields, ...attributes, ...Object.values(config.children ?? {})].filter((n) => !NAME_RE.test(n));
  if (bad.length) throw new Error(`xml format: not XML element or attribute names: ${bad.join(', ')} (list the fields to write under format.fields)`);
  const indent = config.indent ?? XML_DEFAULTS.indent;
  const eol = LINE_ENDINGS[config.lineEnding ?? XML_DEFAULTS.lineEnding];
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    format: indent !== '',
    indentBy: indent,
    suppressEmptyNode: false,
    processEntities: true,
    entities: ENTITIES,
  } as ConstructorParameters<typeof XMLBuilder>[0]);
  const rootAttrs = [...Object.entries(config.namespaces ?? {}).map(([p, uri]) => [p === '' ? 'xmlns' : `xmlns:${p}`, uri] as const), ...Object.entries(config.rootAttributes ?? {})];

  function text(value: unknown, field: string): string | Formatted {
    const t = valueText(value);
    if (t === undefined) return { ok: false, error: valueError(FileDropErrors.VALUE, field, valueTypeMessage(value)) };
    const c = notXml(t);
    if (c !== undefined) return { ok: false, error: valueError(FileDropErrors.ENCODING, field, `character ${describeChar(c)} is not allowed in XML 1.0`) };
    return t;
  }

  function element(rec: Record<string, unknown>, names: readonly string[], attrs: readonly string[], where: string): Record<string, unknown> | Refused {
    const out: Record<string, unknown> = {};
    const badName = names.find((n) => !NAME_RE.test(n));
    if (badName !== undefined) return { [REFUSED]: { ok: false, error: valueError(FileDropErrors.VALUE, where + badName, 'is not an XML element name') } };
    for (const a of attrs) {
      const t = text(rec[a], where + a);
      if (typeof t !== 'string') return { [REFUSED]: t };
      out[`@_${a}`] = t;
    }
    for (const f of names) {
      const t = text(rec[f], where + f);
      if (typeof t !== 'string') return { [REFUSED]: t };
      out[f] = t;
    }
    return out;
  }

  const finish = (s: string) => replaceUnencodable(eol === '\n' ? s : s.replace(/\n/g, eol), encoding, (c) => `&#x${c.codePointAt(0)!.toString(16).toUpperCase()};`);

  return {
    encoding,
    extension: 'xml',
    totals: [],
    begin() {
      const attrs = rootAttrs.map(([n, v]) => ` ${n}="${escapeAttr(v)}"`).join('');
      const start = `<?xml version="1.0" encoding="${xmlEncodingName(encoding)}"?>\n<${root}${attrs}>\n`;
      const lacking = firstUnencodable(start, encoding);
      if (lacking !== undefined) throw new Error(`xml format: root attributes hold ${describeChar(lacking)}, which ${encoding} cannot represent`);
      return finish(start);
    },
    format(r: FormatRecord): Formatted {
      const body = element(r.record, fields, attributes, '');
      if (REFUSED in body) return body[REFUSED];
      for (const group of Object.keys(r.children)) {
        const rows = r.children[group] ?? [];
        if (!rows.length) continue;
        const items: Record<string, unknown>[] = [];
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i]!;
          const item = element(row, Object.keys(row), [], `${group}[${i + 1}].`);
          if (REFUSED in item) return item[REFUSED];
          items.push(item);
        }
        body[config.children?.[group] ?? group] = items;
      }
      let xml = builder.build({ [recordName]: body }) as string;
      if (indent !== '') xml = xml.replace(/^(?=.)/gm, indent);
      else xml += '\n';
      return { ok: true, text: finish(xml), lines: 1, amounts: undefined };
    },
    end() {
      return { tail: finish(`</${root}>\n`) };
    },
  };
}
