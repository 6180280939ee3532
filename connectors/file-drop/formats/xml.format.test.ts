import { XMLParser } from 'fast-xml-parser';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { OutputEncoding } from './encoding.js';
import { renderFile } from './render.js';
import { xmlFormat, type XmlFormatConfig } from './xml.format.js';
import { EURO, expectGolden, FACTS, POLISH, RECORDS } from './formats.test-support.js';

const CONFIG = (over: Partial<XmlFormatConfig> = {}): XmlFormatConfig => ({
  kind: 'xml',
  root: 'drv:Batch',
  record: 'drv:Change',
  namespaces: { drv: 'urn:dvla:drv:addr-chg:1', '': 'urn:example:default' },
  rootAttributes: { source: 'rekey & "web"' },
  attributes: ['WEB_REF'],
  fields: ['SURNAME', 'FORENAMES', 'POSTCODE', 'FEE', 'ADJ', 'NOTE'],
  children: { VEHICLES: 'drv:Vehicle' },
  ...over,
});
const ALL = [...RECORDS, EURO, POLISH];
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, parseAttributeValue: false, trimValues: false, htmlEntities: true, isArray: (name) => name === 'drv:Change' || name === 'drv:Vehicle' });

describe('xml format', () => {
  for (const encoding of ['utf-8', 'utf-8-bom', 'windows-1252', 'latin1'] as OutputEncoding[]) {
    it(`matches the golden file in ${encoding} and reads back with fast-xml-parser value for value`, () => {
      const out = renderFile(xmlFormat(CONFIG({ encoding })), ALL, FACTS);
      expectGolden(`xml-${encoding}.xml`, out.bytes);
      expect(out.results.every((r) => r.ok)).toBe(true);
      const text = iconv.decode(out.bytes, encoding.startsWith('utf-8') ? 'utf-8' : encoding, { stripBOM: true });
      expect(text.startsWith(`<?xml version="1.0" encoding="${{ 'utf-8': 'UTF-8', 'utf-8-bom': 'UTF-8', 'windows-1252': 'windows-1252', latin1: 'ISO-8859-1' }[encoding]}"?>\n`)).toBe(true);
      const doc = parser.parse(text) as Record<string, Record<string, unknown>>;
      const batch = doc['drv:Batch']!;
      expect(batch['@_xmlns:drv']).toBe('urn:dvla:drv:addr-chg:1');
      expect(batch['@_source']).toBe('rekey & "web"');
      const changes = batch['drv:Change'] as Record<string, unknown>[];
      expect(changes).toHaveLength(ALL.length);
      ALL.forEach((r, i) => {
        const c = changes[i]!;
        expect(c['@_WEB_REF']).toBe(r.record.WEB_REF);
        for (const f of ['SURNAME', 'FORENAMES', 'POSTCODE', 'FEE', 'ADJ', 'NOTE']) {
          const v = r.record[f];
          expect(c[f], `${f} of record ${i + 1}`).toBe(v === null || v === undefined ? '' : String(v));
        }
        const vehicles = (c['drv:Vehicle'] as Record<string, string>[] | undefined) ?? [];
        expect(vehicles.map((v) => ({ REG: v.REG, AMOUNT: v.AMOUNT }))).toEqual((r.children.VEHICLES ?? []).map((v) => ({ REG: String(v.REG), AMOUNT: String(v.AMOUNT) })));
      });
    });
  }

  it('escapes markup in text and attributes and keeps line breaks and tabs as character references', () => {
    const f = xmlFormat({ kind: 'xml', indent: '', fields: ['A'], attributes: ['B'] });
    const r = f.format({ record: { A: `<a href='x'>&amp;</a>]]>\r\n\t`, B: '"<\n>"' }, children: {} });
    expect(r).toEqual({ ok: true, lines: 1, amounts: undefined, text: '<record B="&quot;&lt;&#10;&gt;&quot;"><A>&lt;a href=&apos;x&apos;&gt;&amp;amp;&lt;/a&gt;]]&gt;&#13;&#10;&#9;</A></record>\n' });
  });

  it('refuses characters XML 1.0 does not allow and values that are not scalars, naming the field', () => {
    const f = xmlFormat(CONFIG());
    const bad = (record: Record<string, unknown>, children = {}) => f.format({ record: { ...RECORDS[0]!.record, ...record }, children });
    expect(bad({ NOTE: 'bell\u0007' })).toEqual({ ok: false, error: { code: 'FILE_DROP_ENCODING', disposition: 'reject', field: 'NOTE', message: 'NOTE: character (U+0007) is not allowed in XML 1.0' } });
    expect(bad({ WEB_REF: 'nul\u0000' })).toMatchObject({ ok: false, error: { field: 'WEB_REF', message: 'WEB_REF: character (U+0000) is not allowed in XML 1.0' } });
    expect(bad({ SURNAME: '\uFFFF' })).toMatchObject({ ok: false, error: { field: 'SURNAME' } });
    expect(bad({ SURNAME: 'x\uDC00' })).toMatchObject({ ok: false, error: { field: 'SURNAME', message: 'SURNAME: character (U+DC00) is not allowed in XML 1.0' } });
    expect(bad({ FEE: [1] })).toMatchObject({ ok: false, error: { field: 'FEE', code: 'FILE_DROP_VALUE' } });
    expect(bad({}, { VEHICLES: [{ 'BAD NAME': 1 }] })).toMatchObject({ ok: false, error: { field: 'VEHICLES[1].BAD NAME', message: 'VEHICLES[1].BAD NAME: is not an XML element name' } });
    expect(bad({}, { VEHICLES: [{ REG: '\u0001' }] })).toMatchObject({ ok: false, error: { field: 'VEHICLES[1].REG' } });
    expect(() => xmlFormat({ kind: 'xml' }, ['OK', '1BAD'])).toThrow('xml format: not XML element or attribute names: 1BAD');
  });

  it('writes characters the encoding lacks as character references that parse back', () => {
    const out = renderFile(xmlFormat({ kind: 'xml', encoding: 'latin1', fields: ['N'], lineEnding: 'crlf' }), [{ record: { N: 'Wałęsa € 😀 é' }, children: {} }], FACTS);
    const text = out.bytes.toString('latin1');
    expect(text).toBe('<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<records>\r\n  <record>\r\n    <N>Wa&#x142;&#x119;sa &#x20AC; &#x1F600; \xe9</N>\r\n  </record>\r\n</records>\r\n');
    expect((parser.parse(text) as { records: { record: { N: string } } }).records.record.N).toBe('Wałęsa € 😀 é');
  });
});
