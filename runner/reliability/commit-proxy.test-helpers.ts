/**
 * A TCP proxy on loopback in front of PostgreSQL that drops connections at
 * COMMIT: it reads the client's side of the wire protocol (the startup
 * message, then typed messages) and, when a simple query (`Q`) or a parsed
 * statement (`P`) is a COMMIT, chooses (seeded) whether to drop the
 * connection there. A drop is either `before` (the COMMIT never reaches the
 * server, which rolls the transaction back) or `after` (the COMMIT reaches
 * the server and commits, the client never hears the answer): the two
 * sides of an ambiguous commit. Everything else is passed through as is.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** How the proxy chooses its drops. */
export interface CommitDropPlan {
  /** Chance that one COMMIT is dropped, while drops remain. */
  chance: number;
  /** Most drops over the proxy's life; after that every COMMIT goes through. */
  most: number;
  /** Random source in [0, 1). */
  random: () => number;
}

/** Drops only while armed (the store's migrations can run disarmed first). */
interface Armed {
  armed: boolean;
}

/** A running proxy: its port, what it saw and did, and how to stop it. */
export interface CommitProxy extends Armed {
  port: number;
  commits: number;
  droppedBefore: number;
  droppedAfter: number;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;

/** The SQL text of a client message, when it is a simple query or a Parse; null otherwise. */
function sqlOf(type: number, body: Buffer): string | null {
  if (type === 0x51 /* Q */) return body.toString('utf8', 0, Math.max(0, body.indexOf(0)));
  if (type === 0x50 /* P */) {
    const nameEnd = body.indexOf(0);
    if (nameEnd < 0) return null;
    const end = body.indexOf(0, nameEnd + 1);
    return body.toString('utf8', nameEnd + 1, end < 0 ? body.length : end);
  }
  return null;
}

const isCommit = (sql: string) => /^\s*(COMMIT|END)\b/i.test(sql);

/** Starts the proxy on 127.0.0.1 (a free port) in front of `target` (host, port). */
export async function commitProxy(target: { host: string; port: number }, plan: CommitDropPlan): Promise<CommitProxy> {
  const sockets = new Set<Socket>();
  const stats = { commits: 0, droppedBefore: 0, droppedAfter: 0 };
  const state: Armed = { armed: true };
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    let pending = Buffer.alloc(0);
    let startup = true;
    let dropped = false;
    const drop = () => {
      dropped = true;
      client.destroy();
    };
    upstream.on('data', (d: Buffer) => {
      if (!dropped) client.write(d);
    });
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => {
      // An `after` drop ends the upstream side once the COMMIT is flushed; otherwise it goes now.
      if (!upstream.writableEnded) upstream.destroy();
    });
    client.on('data', (d: Buffer) => {
      if (dropped) return;
      pending = Buffer.concat([pending, d]);
      // Pass every complete message through, looking at each; keep a partial one for the next chunk.
      for (;;) {
        if (startup) {
          if (pending.length < 8) return;
          const len = pending.readInt32BE(0);
          if (pending.length < len) return;
          const code = pending.readInt32BE(4);
          upstream.write(pending.subarray(0, len));
          pending = pending.subarray(len);
          if (code !== SSL_REQUEST && code !== GSS_REQUEST) startup = false;
          continue;
        }
        if (pending.length < 5) return;
        const type = pending[0]!;
        const len = pending.readInt32BE(1);
        if (pending.length < len + 1) return;
        const message = pending.subarray(0, len + 1);
        pending = pending.subarray(len + 1);
        const sql = sqlOf(type, message.subarray(5));
        if (sql !== null && isCommit(sql)) {
          if (state.armed) stats.commits++;
          const dropsLeft = plan.most - stats.droppedBefore - stats.droppedAfter;
          if (state.armed && dropsLeft > 0 && plan.random() < plan.chance) {
            if (plan.random() < 0.5) {
              stats.droppedBefore++;
              upstream.destroy();
            } else {
              stats.droppedAfter++;
              upstream.end(message);
            }
            drop();
            return;
          }
        }
        upstream.write(message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    port: address.port,
    get armed() {
      return state.armed;
    },
    set armed(on: boolean) {
      state.armed = on;
    },
    get commits() {
      return stats.commits;
    },
    get droppedBefore() {
      return stats.droppedBefore;
    },
    get droppedAfter() {
      return stats.droppedAfter;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
