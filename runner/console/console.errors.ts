/**
 * The console's errors: its users file and its configuration. Catalogued
 * here and gathered in runner/errors.catalogue.ts. A refused sign-in is not
 * an error of this kind: it is answered on the sign-in page.
 */
import { CodedError, defineErrors } from '../../lib/errors.js';

/** The console's catalogue. */
export const ConsoleErrors = defineErrors({
  CONSOLE_USERS_INVALID: {
    code: 'CONSOLE_USERS_INVALID',
    disposition: 'fatal',
    means: 'The console users file (REKEY_CONSOLE_USERS or --console-users) cannot be read or breaks its rules; rekey serve does not start.',
    hint: 'Fix the entry the message names (see docs/console.md for the file\'s shape); make password hashes with `rekey console hash-password`.',
  },
  CONSOLE_NOT_CONFIGURED: {
    code: 'CONSOLE_NOT_CONFIGURED',
    disposition: 'reject',
    means: 'A console page was asked for, but rekey serve was started without a users file, so the console shows nothing (HTTP 503).',
    hint: 'Start rekey serve with --console-users FILE or REKEY_CONSOLE_USERS (docs/console.md).',
  },
  CONSOLE_SIGN_IN_REQUIRED: {
    code: 'CONSOLE_SIGN_IN_REQUIRED',
    disposition: 'reject',
    means: 'A console page or action was asked for without a session, proxy sign-in or API token (HTTP 401).',
    hint: 'Sign in at /sign-in, or send an API token as "Authorization: Bearer <token>".',
  },
  CONSOLE_TOKEN_UNKNOWN: {
    code: 'CONSOLE_TOKEN_UNKNOWN',
    disposition: 'reject',
    means: 'The API token sent is not one whose hash the users file holds (HTTP 401).',
    hint: 'Make a token with `rekey console token NAME`, add its entry to the users file and restart rekey serve.',
  },
  CONSOLE_FORBIDDEN: {
    code: 'CONSOLE_FORBIDDEN',
    disposition: 'reject',
    means: 'The signed-in user\'s role does not allow the page or action (HTTP 403).',
    hint: 'Ask whoever keeps the users file for the role the action needs (docs/console.md lists what each role may do).',
  },
  CONSOLE_TOO_MANY: {
    code: 'CONSOLE_TOO_MANY',
    disposition: 'retry',
    means: 'Too many sign-in attempts came from one address within a minute (HTTP 429).',
    hint: 'Wait a minute and try again; repeated bursts may be someone guessing passwords.',
  },
  CONSOLE_ERROR: {
    code: 'CONSOLE_ERROR',
    disposition: 'retry',
    means: 'A console page failed for a reason of rekey\'s own (HTTP 5xx) or answered a request it could not read.',
    hint: 'Try again; if it persists, the serve log holds the error with its code.',
  },
});

/** An error of the console's configuration; its message never holds a password, hash or token. */
export class ConsoleError extends CodedError {
  constructor(def: (typeof ConsoleErrors)[keyof typeof ConsoleErrors], message: string) {
    super(def, message);
    this.name = 'ConsoleError';
  }
}
