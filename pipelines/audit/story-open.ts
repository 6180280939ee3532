/**
 * What an auditor may open beside a submission's story, shared by `rekey
 * show`, `rekey evidence` and the console's submission page: the lineage
 * of each field from the stored text of the mapping version it was keyed
 * with, the record exactly as sent, and the evidence files kept. Opening
 * the record or evidence decrypts citizens' data, so each access appends
 * one `evidence-opened` entry naming the actor before anything is handed
 * back.
 */
import { basename } from 'node:path';
import { lineageFromCanonical, type FieldLineage } from '../../mappings/lineage.js';
import type { Ledger } from '../ledger/ledger.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import type { SentRecord } from '../privacy/sent-copy.js';
import type { StateStore } from '../store/state-store.js';
import type { AuditLog } from './audit-log.js';
import { readMappingText } from './mapping-texts.js';
import type { SubmissionStory } from './story.js';

/** The lineage of a submission's fields, or why it cannot be told. */
export type StoryLineage = { version: string; fields: FieldLineage[] } | { version: string | null; unavailable: string };

/**
 * The field lineage of the mapping version `story` was keyed with, from its
 * stored text; `unavailable` says why when no version is recorded or its
 * text is not stored. Throws `MAPPING_TEXT_ALTERED` as `readMappingText` does.
 */
export async function storyLineage(store: StateStore, story: SubmissionStory): Promise<StoryLineage> {
  const version = story.mappingVersion;
  if (!version) return { version: null, unavailable: 'no mapping version is recorded for this submission, so its lineage cannot be told' };
  const text = await readMappingText(store, version);
  if (text === null) {
    return { version, unavailable: `the text of mapping version ${version} is not stored (it was keyed before rekey kept mapping texts), so its lineage cannot be told; the current mapping file may differ from it` };
  }
  return { version, fields: lineageFromCanonical(text, `mapping ${version}`) };
}

/** The record as sent, opened (with the seq of the audit entry that says so), or why nothing was opened. */
export type SentOpened = { sent: SentRecord; seq: number } | { sent: null; why: string };

/**
 * Decrypts the record `story`'s submission was delivered with and audits
 * the access (`evidence-opened`, kind `sent`, as `actor`); when nothing was
 * sent or no copy is kept, says why and audits nothing. Throws
 * `SUBMISSION_ERASED` or `BODY_PURGED` when the copy was destroyed, and
 * as `Ledger.sentRecord` does.
 */
export async function openSentRecord(ledger: Ledger, audit: AuditLog, story: SubmissionStory, actor: string): Promise<SentOpened> {
  const named = `the record sent for ${JSON.stringify(story.key)} of pipeline ${story.pipeline}`;
  if (story.erasedAt) throw new PipelineError(PipelineCodes.SUBMISSION_ERASED, `cannot print ${named}: it was erased at ${story.erasedAt.toISOString()} (right to erasure); the audit log keeps only its hash`);
  if (!story.bodyKept && story.delivery) throw new PipelineError(PipelineCodes.BODY_PURGED, `cannot print ${named}: the retention policy removed it with the body; the audit log keeps only its hash`);
  if (!story.delivery) return { sent: null, why: 'nothing was sent: it was never delivered' };
  const sent = await ledger.sentRecord(story.pipeline, story.key);
  if (!sent) return { sent: null, why: 'no copy is kept: it was delivered before rekey kept what it sent; the audit log holds its hash only' };
  const [entry] = await audit.append([{ pipeline: story.pipeline, event: 'evidence-opened', actor, detail: { keys: [story.key], kind: 'sent' } }]);
  return { sent, seq: entry!.seq };
}

/** The legacy system's text of a submission's last error, opened (with the seq of the audit entry that says so), or why nothing was opened. */
export type LegacyTextOpened = { text: string; seq: number } | { text: null; why: string };

/**
 * Decrypts the legacy system's own text of `key`'s last error `lastError`
 * (a database, screen or answer file message, which may quote citizens'
 * data) and audits the access (`evidence-opened`, kind `legacy-error`, as
 * `actor`). Only a text whose keyed hash is the one `lastError` holds is
 * opened: a text kept from an earlier error is never shown as this one's.
 * When none is kept, says why and audits nothing. Throws as
 * `Ledger.legacyText` does.
 */
export async function openLegacyText(ledger: Ledger, audit: AuditLog, pipeline: string, key: string, lastError: { textHash?: string } | null, actor: string): Promise<LegacyTextOpened> {
  if (!lastError?.textHash) return { text: null, why: 'the last error carries no text of the legacy system' };
  const kept = await ledger.legacyText(pipeline, key);
  if (!kept || kept.textHash !== lastError.textHash) return { text: null, why: 'the legacy system\'s text is not kept (erased, purged, or the body is not sealed)' };
  const [entry] = await audit.append([{ pipeline, event: 'evidence-opened', actor, detail: { keys: [key], kind: 'legacy-error' } }]);
  return { text: kept.text, seq: entry!.seq };
}

/** One evidence file opened: its clear name (without `.sealed`), its sealed file's name and its bytes. */
export interface OpenedFile {
  file: string;
  sealed: string;
  bytes: Buffer;
}

/** What `openEvidence` opened, and the files it could not open with the error code. */
export interface OpenedEvidence {
  opened: OpenedFile[];
  failed: { file: string; code: string }[];
}

/** The clear name of a sealed evidence file: its base name without `.sealed`. */
export const clearName = (path: string): string => basename(path).replace(/\.sealed$/, '');

/**
 * Decrypts the evidence files (sealed files of kind `evidence`) kept for
 * `key` of `pipeline`, all of them or only those whose sealed or clear
 * name is in `only`, and, when at least one opened, appends one
 * `evidence-opened` entry (kind `evidence`, the sealed files' names) as
 * `actor`. Files that cannot be read are listed in `failed` with their
 * error code; nothing is audited when none opened.
 */
export async function openEvidence(store: StateStore, ledger: Ledger, audit: AuditLog, pipeline: string, key: string, actor: string, only?: readonly string[]): Promise<OpenedEvidence> {
  const rows = await store.select<{ path: string }>("SELECT path FROM sealed_files WHERE pipeline = $1 AND kind = 'evidence' AND subject = $2 ORDER BY created_at, path", [pipeline, key]);
  const wanted = only ? rows.filter((r) => only.includes(basename(r.path)) || only.includes(clearName(r.path))) : rows;
  const files = ledger.sealedFiles(pipeline);
  const opened: OpenedFile[] = [];
  const failed: OpenedEvidence['failed'] = [];
  for (const { path } of wanted) {
    await files.read(path).then(
      (bytes) => void opened.push({ file: clearName(path), sealed: basename(path), bytes }),
      (e: unknown) => void failed.push({ file: clearName(path), code: (e as { code?: string }).code ?? 'UNREADABLE' }),
    );
  }
  if (opened.length) await audit.append([{ pipeline, event: 'evidence-opened', actor, detail: { keys: [key], files: opened.map((c) => c.sealed), kind: 'evidence' } }]);
  return { opened, failed };
}
