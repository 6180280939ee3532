/** Every state-store migration, in number order. umzug applies whatever a store lacks in this order, so a number given out later than a higher one (0020 after 0022) still applies on the next start. Never edit an applied one. */
import { migration0001 } from './0001-ledger.js';
import { migration0002 } from './0002-audit.js';
import { migration0003 } from './0003-ledger-bodies.js';
import { migration0004 } from './0004-run-versions.js';
import { migration0005 } from './0005-connector-state.js';
import { migration0006 } from './0006-ledger-ids.js';
import { migration0007 } from './0007-run-errors.js';
import { migration0008 } from './0008-data-at-rest.js';
import { migration0010 } from './0010-retention.js';
import { migration0011 } from './0011-audit-trail.js';
import { migration0012 } from './0012-console-sessions.js';
import { migration0013 } from './0013-pipeline-controls.js';
import { migration0014 } from './0014-corrections.js';
import { migration0015 } from './0015-console-indexes.js';
import { migration0016 } from './0016-ledger-counts.js';
import { migration0017 } from './0017-runs-mapping-version.js';
import { migration0018 } from './0018-legacy-error-text.js';
import { migration0019 } from './0019-claim-by-arrival.js';
import { migration0020 } from './0020-rate-pacing.js';
import { migration0022 } from './0022-schedule-ticks.js';
import { migration0023 } from './0023-ledger-sent.js';
import { migration0024 } from './0024-case-bodies.js';
import { migration0025 } from './0025-sealed-bytes.js';
import type { StoreMigration } from './migration.types.js';

/** The ordered migration list umzug runs. */
export const MIGRATIONS: readonly StoreMigration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006, migration0007, migration0008, migration0010, migration0011, migration0012, migration0013, migration0014, migration0015, migration0016, migration0017, migration0018, migration0019, migration0020, migration0022, migration0023, migration0024, migration0025];
