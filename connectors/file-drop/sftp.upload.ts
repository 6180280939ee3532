/**
 * Optional SFTP delivery of the file-drop target (ssh2-sftp-client): once
 * a file is complete in the local drop folder (which then serves as
 * staging), it is uploaded under a hidden temporary name in the remote
 * folder and renamed into place, then its manifest and trigger the same
 * way. Each step is skipped when its remote file is already in place, so
 * a publication interrupted by a crash or a network failure is finished by
 * repeating it. The server's host key is checked against the configured
 * SHA-256 fingerprint; there is no trust on first use.
 */
import { createHash } from 'node:crypto';
import { join, posix } from 'node:path';
import { tempName } from './drop-file.js';
import { SFTP_DEFAULTS, type SftpConfig } from './sftp.config.js';

export { sftpConfigSchema, type SftpConfig } from './sftp.config.js';

/** The OpenSSH SHA-256 fingerprint of a raw host key. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Uploads `names` (in order: data file, manifest, trigger) from `localDir`
 * to the remote folder, each under its temporary name then renamed.
 * Rejects with the client's error when the server cannot be reached, the
 * host key does not match, or a step fails.
 */
export async function uploadAll(config: SftpConfig, localDir: string, names: readonly string[]): Promise<void> {
  const quiet = () => undefined;
  // Loaded here, not with the module: ssh2 costs every start of `rekey` about 0.1 s of CPU, and few pipelines drop by SFTP.
  const { default: SftpClient } = await import('ssh2-sftp-client');
  const client = new SftpClient('rekey-file-drop', { error: quiet, end: quiet, close: quiet });
  const expected = config.hostKey.replace(/=+$/, '');
  let seen: string | undefined;
  await client.connect({
    host: config.host,
    port: config.port ?? SFTP_DEFAULTS.port,
    username: config.username,
    ...(config.privateKey !== undefined && { privateKey: config.privateKey }),
    ...(config.password !== undefined && { password: config.password }),
    readyTimeout: config.timeoutMs ?? SFTP_DEFAULTS.timeoutMs,
    hostVerifier: (key: Buffer) => (seen = fingerprint(key)) === expected,
  }).catch((e: unknown) => {
    throw seen !== undefined && seen !== expected ? new Error(`SFTP host ${config.host} presented host key ${seen}, not the configured ${expected}`, { cause: e }) : e;
  });
  try {
    for (const name of names) {
      const final = posix.join(config.folder, name);
      if (await client.exists(final)) continue;
      const tmp = posix.join(config.folder, tempName(name));
      await client.put(join(localDir, name), tmp);
      await client.rename(tmp, final);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
