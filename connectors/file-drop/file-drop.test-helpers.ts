/**
 * Shared setup of the file-drop target's tests: a fresh folder and SQLite
 * state store per test, the pipeline's connector state and a context.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach } from 'vitest';
import { connectorState } from '../../pipelines/store/connector-state.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import type { ConnectorState, Ctx, MappedRecord } from '../connector.types.js';
import type { FileDropTarget } from './file-drop.target.js';
import { entryName, keysName, loadEntries } from './journal.js';

/** What each test works in; the fields are replaced before every test. */
export interface DropTestEnv {
  dir: string;
  store: StateStore;
  state: ConnectorState;
  ctx: Ctx;
}

/** Registers the per-test setup and cleanup (pipeline `coa`); read the fields inside tests only. */
export function useDropTestEnv(prefix: string): DropTestEnv {
  const env = {} as DropTestEnv;
  beforeEach(async () => {
    env.dir = await mkdtemp(join(tmpdir(), prefix));
    env.store = await openStateStore(`sqlite:${join(env.dir, 'state.sqlite')}`);
    env.state = connectorState(env.store, 'coa');
    env.ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1, state: env.state };
  });
  afterEach(async () => {
    await env.store.close();
    await rm(env.dir, { recursive: true, force: true });
  });
  return env;
}

/** The id of a process that has ended. */
export const deadPid = (): number => spawnSync('true').pid!;

/**
 * A crash between journalling a finished file and renaming it: `t` writes
 * `r` into file 1, whose entry is then rewritten as `pending` (keys row
 * included) by a process that has ended.
 */
export async function journalledNotRenamed(t: FileDropTarget, ctx: Ctx, state: ConnectorState, r: MappedRecord): Promise<void> {
  await t.connect(ctx);
  await t.deliver([r], ctx);
  const [open] = await loadEntries(state);
  await state.set(keysName(1), JSON.stringify([r.key]));
  await state.set(entryName(1), JSON.stringify({ ...open, state: 'pending', records: 1, pid: deadPid() }));
}
