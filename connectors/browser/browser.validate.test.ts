/**
 * `rekey validate` on browser steps: every problem of a pipeline's steps at
 * its line and column, from the connector's schema. Needs no browser.
 */
import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../pipelines/definition/pipeline.loader.js';

const text = [
  'pipeline: p',
  'mapping: m.yaml',
  'source: { kind: file, config: { path: in.ndjson } }',
  'target:',
  '  kind: browser',
  '  config:',
  '    baseUrl: http://127.0.0.1:4180',
  '    steps:',
  '      - goto: /cases/new',
  '      - fil: { label: Surname, value: "{{SURNAME}}" }',
  '      - fill: { label: Surname }',
  '      - select: { name: dob_day, value: "{{DOB_DAY}}", colour: red }',
  '      - dialog: maybe',
  '      - frame:',
  '          selector: "#address-frame"',
  '          steps:',
  '            - click: { role: button, text: Continue, wait: 3 }',
  '      - goto: /a',
  '        click: "#b"',
  '',
].join('\n');

describe('browser steps in rekey validate', () => {
  it('reports each bad step at its line and column', () => {
    const r = parsePipeline('p.yaml', text);
    expect(r.def).toBeUndefined();
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      '10:9 unknown key "fil" under target.config.steps[1], did you mean "fill"?',
      '11:15 missing key "value" under target.config.steps[2].fill',
      '12:56 unknown key "colour" under target.config.steps[3].select',
      '13:17 "dialog" must be one of accept, dismiss, got string "maybe"',
      '17:54 unknown key "wait" under target.config.steps[5].frame.steps[0].click',
      '18:9 item 7 must NOT have more than 1 properties',
    ]);
  });
});
