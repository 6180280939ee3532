/**
 * What a delivery puts on the audit log and keeps with the submission, on
 * the plain path (claimed and mapped on this thread): every delivered
 * record says what was sent (hash of the record as handed to the target,
 * a keyed hash per field) and where (the target's identity and `sentTo`);
 * the record as sent is kept sealed; entries of rejected submissions name
 * their mapping version.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Ctx, MappedRecord, Outcome, TargetIdentity } from '../../connectors/connector.types.js';
import { canonicalJson } from '../../lib/canonical-json.js';
import { loadMapping } from '../../mappings/index.js';
import { piiHash } from '../audit/pii.js';
import { pipelineNames, useTestLedger } from '../ledger/ledger.test-helpers.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { runPass } from './pass.js';
import { arraySource, submission, TEST_PII_KEY, testOptions, testPipeline, TestTarget } from './flow.test-helpers.js';

const CANARY = 'Qwyxzelborne';

/** The test target, with an identity and a `sentTo` per record, keeping every record as handed over. */
class NamedTarget extends TestTarget {
  readonly handed: MappedRecord[] = [];
  identity(): TargetIdentity {
    return { kind: 'test', system: 'memory', object: 'CASES' };
  }
  override async deliver(batch: MappedRecord[], ctx: Ctx): Promise<Outcome[]> {
    this.handed.push(...batch);
    const out = await super.deliver(batch, ctx);
    return out.map((o) => (o.status === 'delivered' ? { ...o, sentTo: `CASES row ${o.legacyRef}` } : o));
  }
}

const GROUPS = [
  'mapping: sent-groups',
  'fields:',
  '  REF: { from: submission_reference, required: true }',
  '  SURNAME: { answer: nm.last_name, required: true, pii: true }',
  'groups:',
  '  PREV:',
  '    each: { answer: prev }',
  '    fields:',
  '      PC: { from: $item.postcode, pii: true }',
  '',
].join('\n');

describe.each(TEST_DIALECTS)('what a delivery records, plain path, on %s', (dialect) => {
  const env = useTestLedger(dialect);
  const next = pipelineNames();
  const hash = (v: unknown) => piiHash(v, TEST_PII_KEY);

  it('puts the sent hash, every field keyed and the target on the delivered entry, and keeps the record as sent', async () => {
    const name = next();
    const mapping = loadMapping('sent-groups.yaml', GROUPS).compiled!;
    const body = {
      form_name: 'F',
      submission_reference: 'GG1',
      answers: [
        { question_id: 'nm', question_text: 'Name', answer_text: CANARY, last_name: CANARY },
        { question_id: 'prev', question_text: 'Previous', can_have_multiple_answers: true, answer_text: ['LS1 1AA', 'YO1 7HH'], postcode: ['LS1 1AA', 'YO1 7HH'] },
      ],
    };
    const target = new NamedTarget();
    const r = await runPass(testPipeline(arraySource([body]), target, { name, mapping }), env.ledger, testOptions());
    expect(r).toMatchObject({ delivered: 1 });
    const [handed] = target.handed;
    const history = await env.ledger.history(name, 'F/GG1');
    const delivered = history.find((h) => h.event === 'delivered')!;
    const text = canonicalJson({ record: handed!.record, children: handed!.children });
    expect(delivered.detail.records).toEqual([
      {
        key: 'F/GG1',
        from: 'delivering',
        legacyRef: '1',
        confirmed: false,
        sent: {
          hash: `sha256:${createHash('sha256').update(text).digest('hex')}`,
          fields: { REF: hash('GG1'), SURNAME: hash(CANARY), 'PREV.PC': [hash('LS1 1AA'), hash('YO1 7HH')] },
        },
        target: { kind: 'test', system: 'memory', object: 'CASES', sentTo: 'CASES row 1' },
      },
    ]);
    expect(delivered).toMatchObject({ mappingVersion: mapping.version, target: 'test' });
    expect(JSON.stringify(history)).not.toContain(CANARY);
    expect(JSON.stringify(history)).not.toContain('LS1 1AA');
    expect(await env.ledger.sentRecord(name, 'F/GG1')).toEqual({ record: handed!.record, children: handed!.children });
  });

  it('names the mapping version on every entry of a rejected submission, and on its ledger row', async () => {
    const name = next();
    const p = testPipeline(arraySource([submission('AA2BB3CC'), submission('DD4EE5FF', '  ')]), new NamedTarget(), { name });
    const r = await runPass(p, env.ledger, testOptions());
    expect(r).toMatchObject({ delivered: 1, rejected: 1 });
    const history = await env.ledger.history(name, 'F/DD4EE5FF');
    expect(history.map((h) => [h.event, h.mappingVersion])).toEqual([
      ['received', p.mapping.version],
      ['rejected', p.mapping.version],
    ]);
    expect((await env.ledger.get(name, 'F/DD4EE5FF'))?.mappingVersion).toBe(p.mapping.version);
    expect(await env.ledger.sentRecord(name, 'F/DD4EE5FF')).toBeNull();
    await env.ledger.replay(name, 'F/DD4EE5FF', 'operator:alice');
    const after = await env.ledger.history(name, 'F/DD4EE5FF');
    expect(after.at(-1)).toMatchObject({ event: 'replayed', actor: 'operator:alice', mappingVersion: p.mapping.version });
  });
});
