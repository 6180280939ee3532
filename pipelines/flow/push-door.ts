/**
 * The door for pushed submissions (the webhook intake of `rekey serve`):
 * each one is keyed and admitted as a pass would admit it, by group commit
 * (one ledger transaction for the submissions that arrived while the last
 * one was written), and answered once it is durable.
 */
import type { AdmissionDoor, AdmitResult } from '../../connectors/connector.types.js';
import type { CompiledMapping } from '../../mappings/index.js';
import type { IncomingSubmission, ReceiveOutcome } from '../ledger/ledger.types.js';
import { admit, identify, type Door } from './admission.js';
import { GroupCommit, GroupCommitRefused, type GroupCommitLimits } from './group-commit.js';

/** The admission door of one pipeline whose source pushes its submissions. */
export class PushDoor implements AdmissionDoor {
  private readonly commit: GroupCommit<IncomingSubmission, ReceiveOutcome>;

  /**
   * Admits through `door` with `mapping`'s keys, at most `limits.maxBatch`
   * per write and `limits.maxPending` waiting; calls `onNew` for each
   * submission recorded as new, once it is durable.
   */
  constructor(
    door: Door,
    private readonly mapping: CompiledMapping,
    limits: GroupCommitLimits,
    private readonly onNew?: () => void,
  ) {
    // The mapping's text is stored with the first write (a pushed submission may reach the ledger before any run).
    let textSaved = false;
    this.commit = new GroupCommit(async (items) => {
      const out = await admit(door, items, undefined, { mappingVersion: mapping.version, ...(textSaved ? {} : { mappingText: mapping.canonical }) });
      textSaved = true;
      return out;
    }, limits);
  }

  /** True once {@link close} was called. */
  get closing(): boolean {
    return this.commit.isClosed;
  }

  /**
   * Keys `body` and resolves once it is recorded (`new`, `duplicate`,
   * `conflict`), or refused with nothing recorded: `busy` when
   * `maxPending` are already waiting, `stopping` after {@link close},
   * `unavailable` when the ledger failed. Never rejects.
   */
  async admit(body: unknown, source: string): Promise<AdmitResult> {
    const { key, contentHash } = identify(this.mapping, body);
    try {
      const status = await this.commit.submit({ key, contentHash, body, source });
      if (status === 'new') this.onNew?.();
      return { status, key };
    } catch (e) {
      if (e instanceof GroupCommitRefused) return { status: e.reason === 'full' ? 'busy' : 'stopping' };
      const code = (e as { code?: unknown }).code;
      return { status: 'unavailable', error: { ...(typeof code === 'string' ? { code } : {}), message: (e as Error).message } };
    }
  }

  /** Refuses new submissions from now on and resolves once every write in flight has finished and answered. */
  close(): Promise<void> {
    return this.commit.close();
  }
}
