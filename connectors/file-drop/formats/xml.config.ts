/**
 * `format:` of kind `xml`, declared once: the JSON Schema, the type and
 * the defaults derive from one typebox schema.
 */
import { Type, type Static } from 'typebox';
import { closed, constant, defaultsOf, mapOf, oneOfValues, withDefault } from '../../config.schema.js';
import { OUTPUT_ENCODINGS } from './encoding.js';

/** Pattern of XML element and attribute names (with an optional prefix). */
export const XML_NAME = '^[A-Za-z_][A-Za-z0-9._-]*(:[A-Za-z_][A-Za-z0-9._-]*)?$';

const name = (description: string) => Type.String({ pattern: XML_NAME, description });

/** JSON Schema (draft-07) of {@link XmlFormatConfig}. */
export const xmlFormatSchema = closed({
  kind: constant('xml'),
  encoding: withDefault(oneOfValues(OUTPUT_ENCODINGS, { description: 'utf-8 (default), utf-8-bom, windows-1252 or latin1; other characters become character references.' }), 'utf-8'),
  root: withDefault(name('Root element; default records.'), 'records'),
  record: withDefault(name('Element of one record; default record.'), 'record'),
  namespaces: Type.Optional(
    mapOf(Type.String({ minLength: 1 }), { propertyNames: { pattern: '^([A-Za-z_][A-Za-z0-9._-]*)?$' }, description: 'prefix ("" for the default) to namespace URI.' }),
  ),
  rootAttributes: Type.Optional(mapOf(Type.String(), { propertyNames: { pattern: XML_NAME } })),
  fields: Type.Optional(Type.Array(Type.String({ pattern: XML_NAME }), { description: 'Fields as child elements, in order; default the mapping’s fields.' })),
  attributes: Type.Optional(Type.Array(Type.String({ pattern: XML_NAME }), { description: 'Fields as attributes of the record element.' })),
  children: Type.Optional(mapOf(Type.String({ pattern: XML_NAME }), { description: 'Element of each child row, by group name.' })),
  indent: withDefault(Type.String({ pattern: '^[ \\t]*$', description: 'Indentation; default two spaces ("  "); "" for one line per record.' }), '  '),
  lineEnding: withDefault(oneOfValues(['crlf', 'lf'], { description: 'lf (default) or crlf.' }), 'lf'),
});

/** `format:` of kind `xml`: record fields as child elements (default the mapping's fields, minus `attributes`) or attributes, child rows as elements named by group. */
export type XmlFormatConfig = Static<typeof xmlFormatSchema>;

/** Defaults of {@link XmlFormatConfig}. */
export const XML_DEFAULTS = defaultsOf(xmlFormatSchema);
