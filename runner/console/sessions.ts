/**
 * The console's sign-in sessions, in the state store (migration 0012). The
 * browser holds a random 256-bit token in a cookie; the store holds only
 * its SHA-256, the user's name and three times. A session ends when it is
 * signed out, when it has been idle longer than `idleMs`, or `absoluteMs`
 * after sign-in, whichever comes first.
 */
import { createHash, randomBytes } from 'node:crypto';
import { iso, readDateStrict } from '../../pipelines/store/sql.js';
import type { StateStore } from '../../pipelines/store/state-store.js';

/** How long sessions last. */
export interface SessionTimes {
  idleMs: number;
  absoluteMs: number;
}

/** Defaults: 30 minutes idle, 8 hours in all (a working day). */
export const DEFAULT_SESSION_TIMES: SessionTimes = { idleMs: 30 * 60_000, absoluteMs: 8 * 3_600_000 };

/** How often a session's last-seen time is written (at most): reads should not all be writes. */
const TOUCH_MS = 60_000;

function digest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Sessions of signed-in users. */
export class Sessions {
  constructor(
    private readonly store: StateStore,
    private readonly times: SessionTimes = DEFAULT_SESSION_TIMES,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Starts a session for `user`; resolves to the token for the cookie. Sessions already over are cleared on the way. */
  async create(user: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    await this.store.transaction(async (t) => {
      await this.store.exec('DELETE FROM console_sessions WHERE expires_at <= $1', [iso(now)], t);
      await this.store.exec('INSERT INTO console_sessions (id_hash, user_name, created_at, seen_at, expires_at) VALUES ($1,$2,$3,$3,$4)', [digest(token), user, iso(now), iso(new Date(now.getTime() + this.times.absoluteMs))], t);
    });
    return token;
  }

  /** The user of a live session, else undefined (an ended session is removed). */
  async user(token: string): Promise<string | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const id = digest(token);
    const [row] = await this.store.select<{ user_name: string; seen_at: unknown; expires_at: unknown }>('SELECT user_name, seen_at, expires_at FROM console_sessions WHERE id_hash = $1', [id]);
    if (!row) return undefined;
    const now = this.now().getTime();
    const seen = readDateStrict(row.seen_at).getTime();
    if (readDateStrict(row.expires_at).getTime() <= now || seen + this.times.idleMs <= now) {
      await this.store.exec('DELETE FROM console_sessions WHERE id_hash = $1', [id]);
      return undefined;
    }
    if (now - seen >= TOUCH_MS) await this.store.exec('UPDATE console_sessions SET seen_at = $1 WHERE id_hash = $2', [iso(new Date(now)), id]);
    return row.user_name;
  }

  /** Ends the session of `token` (signing out); a token of no session is ignored. */
  async end(token: string): Promise<void> {
    await this.store.exec('DELETE FROM console_sessions WHERE id_hash = $1', [digest(token)]);
  }

  /** Ends every session of `user` (after a password change, say). */
  async endAll(user: string): Promise<void> {
    await this.store.exec('DELETE FROM console_sessions WHERE user_name = $1', [user]);
  }
}
