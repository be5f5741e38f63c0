import { Redis } from 'ioredis';
import { ArmpriorError } from '../core/errors.js';

// Where the queue lives: a Redis (or Valkey) URL from --queue or ARMPRIOR_QUEUE_URL. BullMQ does
// the scheduling, the leases and the retries (issue #20); this file only opens the connection
// and says in one line why it cannot, never printing the credentials.

/** Redis cannot be reached, refuses our credentials, or is not a Redis. */
export class QueueConnectionError extends ArmpriorError {
  constructor(message: string) {
    super('queue_unreachable', message);
  }
}

/** The environment variable that names the queue when --queue does not. */
export const QUEUE_URL_ENV = 'ARMPRIOR_QUEUE_URL';

/** How long the first connection may take before the queue is called unreachable. */
const CONNECT_TIMEOUT_MS = 5000;

/** `url` with any user name and password replaced by `***`: what every message shows. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username) parsed.username = '***';
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    // Not a URL: show no part of it that could be a secret.
    return '<the queue URL>';
  }
}

/** The queue URL of a command: --queue, else ARMPRIOR_QUEUE_URL; checked to be redis:// or rediss://. */
export function queueUrl(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = option ?? env[QUEUE_URL_ENV];
  if (!url)
    throw new QueueConnectionError(`no queue given: pass --queue redis://host:6379 or set ${QUEUE_URL_ENV}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueConnectionError(
      `${redactUrl(url)} is not a URL; expected redis://[user:password@]host:port[/db]`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new QueueConnectionError(
      `${redactUrl(url)}: the queue must be a redis:// or rediss:// (TLS) URL, not ${parsed.protocol}//`,
    );
  }
  return url;
}

/**
 * A connection for BullMQ's queues and workers: reconnects on its own when Redis restarts
 * (`maxRetriesPerRequest: null`, which BullMQ's workers require). Probed first with a throw-away
 * client that does not retry: with the defaults, a command to an unreachable Redis or with a
 * wrong password waits for ever, and the cause only reaches an 'error' event.
 */
export async function openQueueConnection(url: string): Promise<Redis> {
  await probe(url);
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  // Reconnection attempts report each failure here; the commands wait for the reconnection.
  connection.on('error', () => {});
  return connection;
}

async function probe(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });
  let cause: Error | undefined;
  client.on('error', (error: Error) => {
    cause ??= error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new QueueConnectionError(
      `cannot use the queue at ${redactUrl(url)}: ${explain(cause ?? (error as Error))}`,
    );
  } finally {
    client.disconnect();
  }
}

/** Redis's and the socket's messages, said for a person. */
function explain(error: Error): string {
  const message = error.message;
  if (/WRONGPASS|invalid password/i.test(message)) return 'Redis refused the user name or password';
  if (/NOAUTH/i.test(message))
    return 'Redis wants a password: put it in the URL (redis://:password@host:port)';
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'nothing is listening there (is redis-server running?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(message))
    return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
  return message;
}
