import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Step } from '../../connectors/browser/browser.config.js';
import { DRIFT_STATE, type DriftReport } from '../../connectors/browser/browser.drift.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { pausePipeline, pipelineControl } from '../../pipelines/ledger/controls.js';
import { connectorState } from '../../pipelines/store/connector-state.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { rekeyCli as rekey } from '../cli.test-helpers.js';

const P = 'browser-drift';
const STEPS: Step[] = [{ goto: '/cases/new' }, { fill: { label: 'Surname', value: '{{SURNAME}}' } }, { click: { role: 'button', text: 'Continue' } }];
const print = (label: string) => ({ page: 0, fields: [{ step: '1', kind: 'fill', found: label !== '', tag: 'input', type: '', name: 'surname', id: 'surname', label, index: 0 }], required: [] });

/** A state store holding what the drift guard leaves: a report and the pause. */
async function seeded(): Promise<{ dir: string; url: string; report: DriftReport }> {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-steps-review-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const report: DriftReport = {
    id: 'b0b1c2d3-0000-4000-8000-000000000001',
    at: '2026-12-05T10:00:00.000Z',
    stepsVersion: '0123456789abcdef',
    base: '0123456789abcdef',
    page: 0,
    changes: [{ step: '1', what: 'gone', says: 'step 1 (fill): the input labelled "Surname", named "surname", is not found' }],
    before: print('Surname'),
    now: print(''),
    proposal: { steps: [STEPS[0]!, { fill: { label: 'Family name', value: '{{SURNAME}}' } }, STEPS[2]!], rewritten: [{ step: '1', locator: { label: 'Family name' } }], unresolved: [] },
  };
  const store = await openStateStore(url);
  try {
    await connectorState(store, P).set(DRIFT_STATE.report, JSON.stringify(report));
    await pausePipeline(store, new AuditLog(store), P, 'runner:test:1', 'the legacy screen changed (page 1): rekey steps review to see it and approve corrected steps');
  } finally {
    await store.close();
  }
  return { dir, url, report };
}

describe('rekey steps review (the built CLI)', () => {
  it('shows the change and the proposal, writes it to edit, refuses invalid edits, approves edited steps (audited) and resumes', async () => {
    const { dir, url, report } = await seeded();
    const cli = (...args: string[]) => rekey(['steps', 'review', P, '--state', url, ...args], dir, { USER: 'alice' });

    const shown = await cli('--out', 'steps.yaml');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`report ${report.id}, ${report.at}: page 1 of the form changed`);
    expect(shown.stdout).toContain('  - step 1 (fill): the input labelled "Surname", named "surname", is not found\n');
    expect(shown.stdout).toContain('  - step 1: now found by {"label":"Family name"}\n');
    expect(shown.stdout).toMatch(/^browser-drift is paused since \S+ by runner:test:1: the legacy screen changed/);
    expect((parse(readFileSync(join(dir, 'steps.yaml'), 'utf8')) as { steps: Step[] }).steps).toEqual(report.proposal.steps);

    writeFileSync(join(dir, 'bad.yaml'), stringify({ steps: [{ goto: '/x' }, { fill: { lable: 'Surname', value: 'x' } }] }));
    const bad = await cli('--approve', '--steps', 'bad.yaml');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad.yaml: step 1/fill: must NOT have additional properties (lable)');
    expect((await cli('--steps', 'steps.yaml')).stderr).toContain('--steps needs --approve');

    const edited = [...report.proposal.steps.slice(0, 2), { fill: { label: 'Reason for change', value: 'Change of address' } }, report.proposal.steps[2]!];
    writeFileSync(join(dir, 'edited.yaml'), stringify(edited));
    const wrongReport = await cli('--approve', '--steps', 'edited.yaml', '--report', 'another');
    expect(wrongReport).toMatchObject({ code: 1 });
    expect(wrongReport.stderr).toContain(`report another is not the one waiting for review (${report.id})`);

    const ok = await cli('--approve', '--steps', 'edited.yaml', '--operator', 'bob', '--report', report.id);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(new RegExp(`^approved step version ${report.base}\\.[0-9a-f]{8} \\(edited\\) for ${P} as operator:bob\\nresumed ${P}: its records are keyed on its next pass\\n$`));

    const after = JSON.parse((await cli('--json')).stdout) as { report: unknown; active: { steps: Step[]; edited: boolean; approvedBy: string; report: string } };
    expect(after.report).toBeNull();
    expect(after.active).toMatchObject({ steps: edited, edited: true, approvedBy: 'operator:bob', report: report.id });
    const again = await cli('--approve');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`LEDGER_BAD_REQUEST pipeline ${P} has no screen change waiting for review`);

    const store = await openStateStore(url);
    try {
      expect((await pipelineControl(store, P))?.paused).toBe(false);
      let text = '';
      for await (const c of new AuditLog(store).export({ format: 'json', pipeline: P, events: ['steps-approved', 'pipeline-resumed'] })) text += c;
      const entries = JSON.parse(text) as { event: string; actor: string; detail: Record<string, unknown> }[];
      expect(entries.map((e) => [e.event, e.actor])).toEqual([['steps-approved', 'operator:bob'], ['pipeline-resumed', 'operator:bob']]);
      expect(entries[0]!.detail).toMatchObject({ report: report.id, page: 1, from: report.stepsVersion, edited: true, changes: ['1:gone'] });
    } finally {
      await store.close();
    }
  }, 180_000);
});
