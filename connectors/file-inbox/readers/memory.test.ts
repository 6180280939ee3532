import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { InputFormat } from '../../connector.types.js';
import { readRecords, type ReadOptions } from './index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const TOTAL_BYTES = 50 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
const MB = 1024 * 1024;

interface Shape {
  format: InputFormat;
  head: string;
  record: (i: number) => string;
  tail: string;
  options?: Partial<ReadOptions>;
}

const pad = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(6);
const shapes: Shape[] = [
  {
    format: 'ndjson',
    head: '',
    record: (i) => `${JSON.stringify({ form_name: 'Apply', submission_reference: `R${i}`, answers: [{ question_id: 'q', answer_text: pad }] })}\n`,
    tail: '',
  },
  {
    format: 'json',
    head: '[\n',
    record: (i) => `${i > 1 ? ',' : ''}${JSON.stringify({ submission_reference: `R${i}`, answers: [{ question_id: 'q', answer_text: pad }] }, null, 1)}\n`,
    tail: ']\n',
  },
  {
    format: 'csv',
    head: 'Reference,Submitted at,What is your name? - First name,What is your name? - Last name,Notes\r\n',
    record: (i) => `R${i},2024-06-01T10:00:00+01:00,Jane,Smith,"${pad}\r\n${pad}"\r\n`,
    tail: '',
    options: { csv: { shape: 'govuk-forms' } },
  },
  {
    format: 'xml',
    head: '<?xml version="1.0"?>\n<submissions>\n',
    record: (i) =>
      `<submission ref="R${i}"><name first="Jane">Smith</name><notes><![CDATA[${pad}${pad}]]></notes><answer>${pad}${pad}</answer></submission>\n`,
    tail: '</submissions>\n',
    options: { xml: { recordPath: 'submissions.submission' } },
  },
];

async function* generate(shape: Shape): AsyncGenerator<Buffer> {
  yield Buffer.from(shape.head);
  let sent = 0;
  let i = 0;
  let pending: string[] = [];
  let pendingLength = 0;
  while (sent < TOTAL_BYTES) {
    const r = shape.record(++i);
    pending.push(r);
    pendingLength += r.length;
    if (pendingLength >= CHUNK_BYTES) {
      const chunk = Buffer.from(pending.join(''));
      sent += chunk.length;
      pending = [];
      pendingLength = 0;
      yield chunk;
    }
  }
  yield Buffer.from(pending.join('') + shape.tail);
}

describe('memory stays flat on large inputs', () => {
  for (const shape of shapes) {
    it(`streams ~50 MB of ${shape.format} with bounded heap`, async () => {
      gc();
      const base = process.memoryUsage().heapUsed;
      let records = 0;
      let errors = 0;
      let peak = 0;
      let retained = 0;
      for await (const item of readRecords(generate(shape), { file: `big.${shape.format}`, ...shape.options })) {
        records++;
        if (!item.ok) errors++;
        if (records % 5000 === 0) {
          peak = Math.max(peak, process.memoryUsage().heapUsed - base);
          gc();
          retained = Math.max(retained, process.memoryUsage().heapUsed - base);
        }
      }
      console.info(
        `${shape.format}: ${records} records; heap growth peak ${(peak / MB).toFixed(1)} MB, after GC at most ${(retained / MB).toFixed(1)} MB`,
      );
      expect(errors).toBe(0);
      expect(records).toBeGreaterThan(30_000);
      expect(retained).toBeLessThan(20 * MB);
      expect(peak).toBeLessThan(150 * MB);
    });
  }
});
