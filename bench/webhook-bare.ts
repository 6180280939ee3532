/**
 * The webhook benchmark's yardstick, run as its own process: `node
 * dist/bench/webhook-bare.js <secret>` listens on an ephemeral loopback port
 * with a bare Fastify route that does what the intake does before the
 * ledger (raw body, timestamp window, HMAC check, JSON parse) and answers
 * 202 at once: the practical limit of the HTTP side on this machine. Prints
 * its URL on stdout; stops on SIGTERM.
 */
import Fastify from 'fastify';
import { checkSignature, checkTimestamp } from '../connectors/webhook/signature.js';

const secret = process.argv[2] ?? '';
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/intake/bare', { bodyLimit: 1024 * 1024 }, async (req, reply) => {
  const timestamp = String(req.headers['x-rekey-timestamp'] ?? '');
  const signature = String(req.headers['x-rekey-signature'] ?? '');
  if (!checkTimestamp(timestamp, 300, Date.now()).ok || !checkSignature(secret, timestamp, req.body as Buffer, signature).ok) {
    return reply.code(401).send({ error: { code: 'WEBHOOK_BAD_SIGNATURE' } });
  }
  const body = JSON.parse((req.body as Buffer).toString('utf8')) as { form_name: string; submission_reference: string };
  return reply.code(202).send({ key: `${body.form_name}/${body.submission_reference}`, status: 'accepted' });
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${url}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
