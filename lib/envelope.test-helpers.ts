/**
 * A key ring for tests. Its key is fixed, so that a test and the child
 * processes it starts (`rekey run` with `REKEY_DATA_KEY=TEST_DATA_KEY`)
 * open each other's bodies.
 */
import { KeyRing } from './envelope.js';

/** The test key-encryption key, as `REKEY_DATA_KEY` takes it. */
export const TEST_DATA_KEY = '5ad1c0ffee5ad1c0ffee5ad1c0ffee5ad1c0ffee5ad1c0ffee5ad1c0ffee5ad1';

/** A key ring holding {@link TEST_DATA_KEY} alone. */
export const TEST_KEYS = new KeyRing(Buffer.from(TEST_DATA_KEY, 'hex'));
