import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TEST_DATA_KEY, TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { PipelineCodes } from '../../pipelines/pipeline.errors.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { run } from '../cli.js';
import { defaultEvidenceOut } from './evidence.command.js';
import { P, seed } from './state.test-helpers.js';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('a screenshot of B')]);
const ZIP = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('a trace of B')]);

/** Runs the CLI in this process; resolves to its exit code and what it printed. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    return { code: await run(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('rekey evidence', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-evidence-cli-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const evidence = join(dir, 'evidence');
  const saved = process.env.REKEY_DATA_KEY;

  beforeAll(async () => {
    process.env.REKEY_DATA_KEY = TEST_DATA_KEY;
    await seed(url);
    mkdirSync(evidence);
    const store = await openStateStore(url);
    try {
      const files = new Ledger(store, new AuditLog(store), TEST_KEYS).sealedFiles(P);
      await files.write(join(evidence, 'B-attempt1-1.png.sealed'), PNG, { kind: 'evidence', subject: 'B' });
      await files.write(join(evidence, 'B-attempt1-1.trace.zip.sealed'), ZIP, { kind: 'evidence', subject: 'B' });
      await files.write(join(evidence, 'C-attempt1-2.png.sealed'), PNG, { kind: 'evidence', subject: 'C' });
      await files.write(join(evidence, 'D-attempt1-3.png.sealed'), PNG, { kind: 'evidence', subject: 'D' });
      unlinkSync(join(evidence, 'D-attempt1-3.png.sealed'));
    } finally {
      await store.close();
    }
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.REKEY_DATA_KEY;
    else process.env.REKEY_DATA_KEY = saved;
  });

  const opened = async () => {
    const store = await openStateStore(url);
    try {
      return await store.select<{ actor: string; detail: string }>("SELECT actor, detail FROM audit_log WHERE event = 'evidence-opened' ORDER BY seq");
    } finally {
      await store.close();
    }
  };

  it('writes the decrypted evidence of one submission into a private folder and audits who opened which files', async () => {
    const out = join(dir, 'out', 'B');
    const r = await cli(['evidence', P, 'B', '--state', url, '--out', out, '--operator', 'tester']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`wrote 2 evidence files of B (${P}) to ${out}, opened as operator:tester (audited):`);
    expect(readdirSync(out).sort()).toEqual(['B-attempt1-1.png', 'B-attempt1-1.trace.zip']);
    expect(readFileSync(join(out, 'B-attempt1-1.png'))).toEqual(PNG);
    expect(readFileSync(join(out, 'B-attempt1-1.trace.zip'))).toEqual(ZIP);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    expect(statSync(join(out, 'B-attempt1-1.png')).mode & 0o777).toBe(0o600);
    const audit = await opened();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor).toBe('operator:tester');
    expect(JSON.parse(audit[0]!.detail)).toEqual({ keys: ['B'], files: ['B-attempt1-1.png.sealed', 'B-attempt1-1.trace.zip.sealed'], kind: 'evidence' });
  });

  it('exits 1 with a clear message, auditing nothing, for an unknown key, a submission without evidence, or evidence that cannot be opened', async () => {
    const before = (await opened()).length;
    const unknown = await cli(['evidence', P, 'ZZ', '--state', url, '--out', join(dir, 'none')]);
    expect(unknown).toMatchObject({ code: 1, stdout: '', stderr: `rekey: SUBMISSION_NOT_FOUND pipeline ${P} holds no submission matching "ZZ" (by key, form reference, legacy reference or prefix)\n  ${PipelineCodes.SUBMISSION_NOT_FOUND.hint}\n` });
    const none = await cli(['evidence', P, 'A', '--state', url, '--out', join(dir, 'none')]);
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toMatch(/^rekey: no evidence is kept of "A" in pipeline licences/);
    const gone = await cli(['evidence', P, 'D', '--state', url, '--out', join(dir, 'none')]);
    expect(gone).toMatchObject({ code: 1, stdout: '', stderr: 'rekey: could not open D-attempt1-3.png: ENOENT\n' });
    expect(() => statSync(join(dir, 'none'))).toThrow();
    expect(await opened()).toHaveLength(before);
  });

  it('names its default folder after the pipeline and key, made safe', () => {
    expect(defaultEvidenceOut('licences', 'Change of address/CA3 HJ7')).toBe(resolve('evidence-licences-Change_of_address_CA3_HJ7'));
    expect(defaultEvidenceOut('p', '../..')).toBe(resolve('evidence-p-.._..'));
  });
});
