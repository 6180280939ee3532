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
  CONSOLE_CONFIG_INVALID: {
    code: 'CONSOLE_CONFIG_INVALID',
    disposition: 'fatal',
    means: 'A console setting in the environment is not valid (a session length, a trusted proxy address).',
    hint: 'Correct the variable the message names; docs/console.md lists them.',
  },
});

/** An error of the console's configuration; its message never holds a password, hash or token. */
export class ConsoleError extends CodedError {
  constructor(def: (typeof ConsoleErrors)[keyof typeof ConsoleErrors], message: string) {
    super(def, message);
    this.name = 'ConsoleError';
  }
}
