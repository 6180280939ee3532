/**
 * The built-in connectors, listed once. The pipeline schema, `rekey
 * validate` and the loader read connectors from here, so adding a
 * connector is one line in this file and nothing else outside its folder.
 * Importing this module has no side effects.
 *
 * A connector's config must not use an object of exactly one key `env` or
 * `file` for its own purposes: pipeline files use those for secrets.
 */
import type { ConnectorDef, Source, Target } from './connector.types.js';
import { browserTarget } from './browser/browser.target.js';
import { fileDropTarget } from './file-drop/file-drop.target.js';
import { fileSource } from './file-inbox/file.source.js';
import { inboxSource } from './file-inbox/inbox.source.js';
import { notifyTarget } from './notify/notify.target.js';
import { sqlTarget } from './sql/sql.target.js';
import { sqliteTarget } from './sql/sqlite.target.js';
import { stagingTableSource } from './staging/staging.source.js';
import { webhookSource } from './webhook/webhook.source.js';

/** A source's declaration, whatever its config type. */
export type SourceDef = ConnectorDef<Record<string, unknown>, Source>;
/** A target's declaration, whatever its config type. */
export type TargetDef = ConnectorDef<Record<string, unknown>, Target>;

/** The connectors a pipeline may name, by kind. */
export interface ConnectorCatalog {
  sources: ReadonlyMap<string, SourceDef>;
  targets: ReadonlyMap<string, TargetDef>;
}

function byName<D extends { name: string }>(defs: D[]): ReadonlyMap<string, D> {
  return new Map(defs.map((d) => [d.name, d]));
}

/** Built-in sources by name. */
export const SOURCES: ReadonlyMap<string, SourceDef> = byName<SourceDef>([fileSource, inboxSource, webhookSource, stagingTableSource]);

/** Built-in targets by name. */
export const TARGETS: ReadonlyMap<string, TargetDef> = byName<TargetDef>([sqliteTarget, sqlTarget, fileDropTarget, browserTarget, notifyTarget]);

/** The built-in connectors. */
export const BUILTIN_CONNECTORS: ConnectorCatalog = { sources: SOURCES, targets: TARGETS };
