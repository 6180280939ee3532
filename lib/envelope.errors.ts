/**
 * Errors of the shared helpers in `lib/`: encryption at rest (envelope).
 * One entry per code, with its disposition, meaning and what to do.
 */
import { defineErrors } from './errors.js';

/** Codes of lib/envelope. */
export const CryptoErrors = defineErrors({
  DATA_KEY_INVALID: {
    code: 'DATA_KEY_INVALID',
    disposition: 'fatal',
    means: 'A key-encryption key given to rekey (REKEY_DATA_KEY, REKEY_DATA_KEY_FILE or REKEY_DATA_KEY_PREVIOUS) is not 32 bytes written as 64 hex digits or base64, or its file cannot be read.',
    hint: 'Make a key with `rekey keys new` and give it as the message says; keep the old key among the previous keys until `rekey keys rotate` has moved every data key off it.',
  },
  DATA_KEY_UNKNOWN: {
    code: 'DATA_KEY_UNKNOWN',
    disposition: 'fatal',
    means: 'Stored data was wrapped under a key-encryption key that is not among the keys given, so it cannot be read.',
    hint: 'Give the key named in the message again in REKEY_DATA_KEY_PREVIOUS (or the key file), then run `rekey keys rotate` before retiring it.',
  },
  DATA_DECRYPT_FAILED: {
    code: 'DATA_DECRYPT_FAILED',
    disposition: 'fatal',
    means: 'An encrypted body, data key or file did not open: it was altered, truncated, or moved from where it was sealed.',
    hint: 'Treat it as tampering or corruption of the state store or the file named: restore it from a backup and check the audit log with `rekey audit verify`.',
  },
});
