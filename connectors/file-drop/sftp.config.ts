/**
 * `sftp:` of the file-drop target, declared once: the JSON Schema, the
 * type and the defaults derive from one typebox schema. Secrets
 * (`privateKey`, `password`) come as `{env: NAME}` or `{file: PATH}`
 * references in pipeline files.
 */
import { Type, type Static } from 'typebox';
import { closed, defaultsOf, withDefault } from '../config.schema.js';

/** JSON Schema (draft-07) of {@link SftpConfig}. */
export const sftpConfigSchema = closed({
  host: Type.String({ minLength: 1 }),
  port: withDefault(Type.Integer({ minimum: 1, maximum: 65535 }), 22),
  username: Type.String({ minLength: 1 }),
  privateKey: Type.Optional(Type.String({ minLength: 1, description: 'Private key text; use {file: PATH} or {env: NAME}.' })),
  password: Type.Optional(Type.String({ minLength: 1, description: 'Use {env: NAME} or {file: PATH}.' })),
  hostKey: Type.String({ pattern: '^SHA256:[A-Za-z0-9+/]{43}=?$', description: 'Server host key fingerprint (ssh-keygen -lf), SHA256:...' }),
  folder: Type.String({ minLength: 1, description: 'Remote folder, which must exist.' }),
  timeoutMs: withDefault(Type.Integer({ minimum: 1 }), 20_000),
});

/** `sftp:` of the file-drop target: the server, the account, its host key fingerprint as `ssh-keygen -lf` prints it, and the remote folder. */
export type SftpConfig = Static<typeof sftpConfigSchema>;

/** Defaults of {@link SftpConfig}. */
export const SFTP_DEFAULTS = defaultsOf(sftpConfigSchema);
