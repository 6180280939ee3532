/**
 * The state store's side of `SealedFiles`: each file a connector keeps is
 * sealed under a data key of its own (lib/envelope), and registered in
 * `sealed_files` with that key wrapped, its kind and its submission. The
 * row is committed before the file is written, so no sealed file exists
 * whose key the store does not hold.
 */
import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { SealedFileKind, SealedFileMeta, SealedFiles } from '../../connectors/connector.types.js';
import { openSealedFile, writeSealedFile, type KeyRing } from '../../lib/envelope.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { iso } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';

/** How `moveIn` opens the file it seals: never through a symbolic link (ELOOP), and never blocking on a FIFO. */
const NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const UPSERT = `INSERT INTO sealed_files (pipeline, path, kind, subject, kid, dek, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (pipeline, path) DO UPDATE SET kind = excluded.kind, subject = excluded.subject, kid = excluded.kid, dek = excluded.dek, created_at = excluded.created_at`;

/** The additional authenticated data of a sealed file: it opens only as this pipeline's file at this path. */
export function fileAad(pipeline: string, path: string): string {
  return `rekey file\0${pipeline}\0${path}`;
}

/**
 * The clear contents of the sealed file `path` of `pipeline` as a stream,
 * with what it was registered as. Throws `SEALED_FILE_UNKNOWN` when no key
 * is held for it (purged, erased, never sealed by rekey), and the
 * envelope's errors when it does not open.
 */
export async function openSealed(store: StateStore, keys: KeyRing, pipeline: string, path: string): Promise<{ kind: SealedFileKind; subject: string | null; clear: Readable }> {
  const abs = resolve(path);
  const [row] = await store.select<{ kind: SealedFileKind; subject: string | null; kid: string; dek: string }>(
    'SELECT kind, subject, kid, dek FROM sealed_files WHERE pipeline = $1 AND path = $2',
    [pipeline, abs],
  );
  if (!row) throw new PipelineError(PipelineCodes.SEALED_FILE_UNKNOWN, `no key is held for the file ${abs} of pipeline ${pipeline}: it was purged, erased or never sealed by rekey (see rekey files ${pipeline})`);
  const clear = await openSealedFile(abs, keys.unwrap({ kid: row.kid, wrapped: row.dek }), fileAad(pipeline, abs));
  return { kind: row.kind, subject: row.subject, clear };
}

/** The sealed files of `pipeline` in `store`, keys wrapped by `keys`; paths are kept absolute. */
export function sealedFiles(store: StateStore, keys: KeyRing, pipeline: string): SealedFiles {
  const register = async (path: string, meta: SealedFileMeta): Promise<Buffer> => {
    const { key, wrapped } = keys.newDataKey();
    const at = store.dialect === 'postgres' ? new Date() : iso(new Date());
    await store.transaction((t) => store.exec(UPSERT, [pipeline, path, meta.kind, meta.subject ?? null, wrapped.kid, wrapped.wrapped, at], t));
    return key;
  };
  return {
    async write(path, bytes, meta) {
      const abs = resolve(path);
      await writeSealedFile(abs, await register(abs, meta), fileAad(pipeline, abs), bytes);
    },
    async moveIn(src, path, meta) {
      const abs = resolve(path);
      const clear = (await open(src, NO_FOLLOW)).createReadStream();
      try {
        await writeSealedFile(abs, await register(abs, meta), fileAad(pipeline, abs), clear);
      } finally {
        clear.destroy();
      }
      await unlink(src);
    },
    async read(path) {
      return buffer((await openSealed(store, keys, pipeline, path)).clear);
    },
  };
}
