/**
 * XML input. {@link XmlScanner} cuts the stream at the record elements; each
 * record alone is checked with fast-xml-parser's XMLValidator and parsed with
 * its XMLParser, so memory depends on the largest record, not the file.
 *
 * Parsed shape: attributes kept under `@_name` (or `xml.attributePrefix`);
 * namespace prefixes removed from element and attribute names (`xmlns`
 * declarations dropped); every value a string (no number parsing, "007"
 * stays "007"), trimmed; an empty element is `""`; an element with
 * attributes and text puts the text under `#text`; CDATA is text; comments
 * and processing instructions are dropped. A child element that occurs once
 * is a value and one that repeats is an array, unless its path is listed in
 * `xml.arrays`, which makes it an array always (list repeating groups there
 * so that one answer and two answers have the same shape). The five
 * predefined entities and numeric character references are decoded; other
 * entity references are left as written; DOCTYPE entity declarations never
 * reach the parser (the scanner refuses the file).
 */
import { XMLParser, XMLValidator, type X2jOptions } from 'fast-xml-parser';
import type { ReadItem } from '../../connector.types.js';
import { ReaderCodes, failure, success } from './reader.errors.js';
import type { ResolvedOptions } from './read-options.js';
import { XmlScanner, type RawXmlRecord } from './xml-scanner.js';

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const REFERENCE = /&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/g;

function decodeReference(match: string, named?: string, dec?: string, hex?: string): string {
  if (named) return PREDEFINED[named] ?? match;
  const code = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex ?? '', 16);
  return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
}

/** Entity decoder for fast-xml-parser: XML's five entities and numeric references only; declared entities are ignored. */
const xmlEntityDecoder: NonNullable<X2jOptions['entityDecoder']> = {
  setExternalEntities: () => undefined,
  addInputEntities: () => undefined,
  reset: () => undefined,
  setXmlVersion: () => undefined,
  decode: (text: string) => (text.includes('&') ? text.replace(REFERENCE, decodeReference) : text),
};

function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

function recordParser(o: ResolvedOptions): XMLParser {
  const recordName = o.xml.recordPath[o.xml.recordPath.length - 1] as string;
  const arrays = new Set(o.xml.arrays.map((p) => `${recordName}.${p.split('.').map(localName).join('.')}`));
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: o.xml.attributePrefix,
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    processEntities: true,
    htmlEntities: false,
    entityDecoder: xmlEntityDecoder,
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: o.xml.maxDepth + 1,
    isArray: (_name, jpath, _leaf, isAttribute) => !isAttribute && typeof jpath === 'string' && arrays.has(jpath),
  });
}

function toItem(raw: RawXmlRecord, parser: XMLParser, o: ResolvedOptions): ReadItem {
  const { file } = o;
  if (raw.text === null) {
    const problem = raw.problem ?? { code: ReaderCodes.MALFORMED_RECORD, message: 'the record could not be read' };
    return failure(problem.code, problem.message, file, raw.record, raw.line);
  }
  const valid = XMLValidator.validate(raw.text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const reason = valid.err.msg
      .replace(/\(opened in line (\d+), col \d+\)/, (_m, l: string) => `(opened at line ${raw.line + Number(l) - 1})`)
      .replace(/^(Tag|Attribute) '.*' is an invalid name\.?$/s, (_m, what: string) => `${what === 'Tag' ? 'a tag' : 'an attribute'} has an invalid name`)
      .replace(/\.$/, '');
    const message = `not well-formed XML: ${reason} at line ${raw.line + valid.err.line - 1}`;
    return failure(ReaderCodes.MALFORMED_RECORD, message, file, raw.record, raw.line);
  }
  try {
    const parsed = parser.parse(raw.text) as Record<string, unknown>;
    const value = Object.values(parsed)[0];
    return success(value ?? '', file, raw.record, raw.line);
  } catch (err) {
    const message = `not well-formed XML: ${err instanceof Error ? err.message : String(err)}`;
    return failure(ReaderCodes.MALFORMED_RECORD, message, file, raw.record, raw.line);
  }
}

/**
 * Reads XML records from decoded text: yields each element at
 * `xml.recordPath` in order, numbered from 1, with the line of its start
 * tag. Per-record items, after which reading goes on:
 * `INPUT_MALFORMED_RECORD` (not well-formed), `INPUT_RECORD_TOO_LARGE`
 * (over `xml.maxRecordBytes`, never held whole), `INPUT_TOO_DEEP` (over
 * `xml.maxDepth`). Final items that end the file: `INPUT_XML_FORBIDDEN`
 * (a DOCTYPE declaring entities, refused before anything is expanded),
 * `INPUT_TRUNCATED` (the file ends inside a record or before the root
 * closes, or is empty), `INPUT_MALFORMED_FILE` (mismatched tags outside
 * records, a second root element, or a root that is not the path's first
 * name), `INPUT_TOO_DEEP` above the record level. Never throws for content.
 */
export async function* readXml(text: AsyncIterable<string>, o: ResolvedOptions): AsyncGenerator<ReadItem, void, undefined> {
  const scanner = new XmlScanner(o);
  const parser = recordParser(o);
  const drain = function* (): Generator<ReadItem> {
    for (const out of scanner.out.splice(0)) yield out.kind === 'item' ? out.item : toItem(out.raw, parser, o);
  };
  for await (const chunk of text) {
    scanner.push(chunk);
    yield* drain();
    if (scanner.stopped) return;
  }
  scanner.end();
  yield* drain();
}
