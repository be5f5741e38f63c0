import { inspect } from 'node:util';

/**
 * Keeping the API key out of messages and error causes. An endpoint may echo the key back in an
 * error body (some proxies do, and OpenAI echoes a masked form), and that text would otherwise
 * reach the terminal or a log through the error message or its `cause`.
 */

/**
 * Keys shorter than this are placeholders such as `ollama` or `none` that local servers accept;
 * they are not secrets, and replacing every occurrence of a short word would mangle messages.
 */
const MIN_SECRET_LENGTH = 8;

/** `text` with every occurrence of `secret` replaced by `***`. */
export function redactSecret(text: string, secret: string): string {
  return secret.length >= MIN_SECRET_LENGTH ? text.replaceAll(secret, '***') : text;
}

/**
 * `error` itself when nothing reachable from it (message, body, headers, nested causes) holds
 * `secret`; otherwise a plain Error with the same name and the redacted message, so the cause
 * chain can be printed or logged safely.
 */
export function scrubError(error: unknown, secret: string): unknown {
  if (secret.length < MIN_SECRET_LENGTH) return error;
  const shown = inspect(error, { depth: 8, showHidden: false, maxStringLength: Number.POSITIVE_INFINITY });
  if (!shown.includes(secret)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const scrubbed = new Error(
    `${redactSecret(message, secret)} (details removed: they contained the API key)`,
  );
  scrubbed.name = error instanceof Error ? error.name : 'Error';
  return scrubbed;
}
