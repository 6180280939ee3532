/**
 * BENCHMARK ONLY. A body codec that stores bodies as they came (no data
 * key, no seal), so that the pipeline benchmark can price encryption at
 * rest against a run without it, in one process. It reaches a Ledger only
 * through the Ledger's internal constructor option (`LedgerInternals`),
 * which no configuration, command line or environment variable sets; rekey
 * itself has no way to store a body in clear.
 */
import { clearText, type BodyCodec } from '../pipelines/privacy/bodies.js';

/** Stores and reads bodies in clear: for bench/pipeline.bench.ts alone. */
export const CLEAR_BODIES_FOR_BENCH: BodyCodec = {
  seal: (_pipeline, _place, items) => items.map((i) => ({ body: i.text, kid: null, dek: null })),
  open: (_pipeline, _place, _key, row) => {
    if (row.kid !== null) throw new Error('the clear bench codec cannot open a sealed body');
    return clearText(row.body);
  },
  // No workerKey: mapping workers are given no key and leave bodies clear too.
};
