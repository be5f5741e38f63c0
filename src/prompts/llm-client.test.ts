import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closedPort, FakeOpenAiServer } from '../../test/support/fake-openai-server.js';
import { ConfigError } from '../core/errors.js';
import type { ChatMessage } from './chat.js';
import {
  LlmAuthError,
  LlmConnectionError,
  LlmEmptyReplyError,
  LlmError,
  LlmProtocolError,
  LlmRateLimitError,
  LlmServerError,
  LlmStreamCutOffError,
  LlmTimeoutError,
} from './errors.js';
import { LlmClient } from './llm-client.js';
import type { LlmConfig } from './llm-config.js';

const KEY = 'sk-test-0123456789abcdefSECRET';
const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You write controllers.' },
  { role: 'user', content: 'Write one for push.' },
];
const REPLY = 'Here it is:\n```js\nexport function act() { return [0, 0, 0]; }\n```\n';

let server: FakeOpenAiServer;

beforeEach(async () => {
  server = new FakeOpenAiServer();
  await server.start();
});

afterEach(async () => {
  await server.stop();
});

/** Small timeouts and one retry keep the failure cases quick; nothing here asserts timing. */
function client(overrides: Partial<LlmConfig> = {}): LlmClient {
  const config: LlmConfig = {
    baseUrl: server.baseUrl,
    model: 'test-model',
    temperature: 0.2,
    timeoutMs: 2000,
    maxRetries: 1,
    maxTokens: 512,
    ...overrides,
  };
  return new LlmClient(config, { apiKey: KEY });
}

async function failure(promise: Promise<unknown>): Promise<LlmError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LlmError);
    // Whatever failed, the key appears nowhere in the error, its cause chain included.
    expect(inspect(error, { depth: 10 })).not.toContain(KEY);
    return error as LlmError;
  }
  throw new Error('expected the call to fail');
}

describe('LlmClient, plain replies', () => {
  it('returns the text, model, finish reason, usage, and the exact request it sent', async () => {
    server.enqueue({ kind: 'reply', text: REPLY, model: 'test-model-2024' });
    const reply = await client().complete(MESSAGES);
    expect(reply.text).toBe(REPLY);
    expect(reply.model).toBe('test-model-2024');
    expect(reply.finishReason).toBe('stop');
    expect(reply.usage?.completionTokens).toBeGreaterThan(0);
    expect(reply.request).toEqual({
      baseUrl: server.baseUrl,
      params: { model: 'test-model', messages: MESSAGES, temperature: 0.2, max_tokens: 512, stream: false },
    });
    // The record is what went over the wire, byte for byte as JSON.
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.body).toEqual(reply.request.params);
    expect(Object.isFrozen(reply.request.params.messages)).toBe(true);
  });

  it('says so when the base URL answers with something that is not a chat completion', async () => {
    server.enqueue(
      { kind: 'raw', body: '<html><body>It works!</body></html>' },
      { kind: 'raw', contentType: 'application/json', body: '{"message":{"content":"hi"}}' },
    );
    const html = await failure(client().complete(MESSAGES));
    expect(html).toBeInstanceOf(LlmProtocolError);
    expect(html.message).toMatch(
      /did not answer like an OpenAI chat-completions API \(a body that is not JSON: <html>/,
    );
    const otherApi = await failure(client().complete(MESSAGES));
    expect(otherApi.message).toMatch(/no `choices` in the response/);
  });

  it('passes finish_reason length through for the caller to judge', async () => {
    server.enqueue({ kind: 'reply', text: 'partial', finishReason: 'length' });
    expect((await client().complete(MESSAGES)).finishReason).toBe('length');
  });

  it('fails on an empty reply', async () => {
    server.enqueue({ kind: 'reply', text: '' });
    const error = await failure(client().complete(MESSAGES));
    expect(error).toBeInstanceOf(LlmEmptyReplyError);
    expect(error.message).toMatch(/returned an empty reply \(finish_reason: stop\)/);
  });

  it('fails clearly when the body is cut off mid-way', async () => {
    server.enqueue({ kind: 'cut-off', text: REPLY });
    const error = await failure(client({ maxRetries: 0 }).complete(MESSAGES));
    expect(error).toBeInstanceOf(LlmStreamCutOffError);
    expect(error.message).toMatch(/was cut off .* connection closed mid-reply/);
  });
});

describe('LlmClient, streamed replies', () => {
  it('assembles the pieces, reports progress, and records the streaming request', async () => {
    server.enqueue({ kind: 'reply', text: REPLY, chunkChars: 5 });
    const progress: number[] = [];
    const reply = await client().complete(MESSAGES, { stream: true, onProgress: (n) => progress.push(n) });
    expect(reply.text).toBe(REPLY);
    expect(reply.finishReason).toBe('stop');
    expect(reply.usage?.totalTokens).toBeGreaterThan(0);
    expect(progress.length).toBe(Math.ceil(REPLY.length / 5));
    expect(progress.at(-1)).toBe(REPLY.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(reply.request.params).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(server.requests[0]!.body).toEqual(reply.request.params);
  });

  it('fails when the connection closes before the stream finished', async () => {
    server.enqueue({ kind: 'cut-off', text: REPLY, sendChars: 20, ending: 'close' });
    const error = await failure(client().complete(MESSAGES, { stream: true }));
    expect(error).toBeInstanceOf(LlmStreamCutOffError);
    expect((error as LlmStreamCutOffError).charsReceived).toBe(20);
    expect(error.message).toMatch(/cut off after 20 characters/);
  });

  it('fails when the stream ends without finish_reason or [DONE]', async () => {
    server.enqueue({ kind: 'cut-off', text: REPLY, sendChars: 16, ending: 'end' });
    const error = await failure(client().complete(MESSAGES, { stream: true }));
    expect(error).toBeInstanceOf(LlmStreamCutOffError);
    expect(error.message).toMatch(/cut off after 16 characters.*without a finish_reason or \[DONE\]/);
  });

  it('times out when a stream stops sending (the package times out only the headers)', async () => {
    server.enqueue({ kind: 'cut-off', text: REPLY, sendChars: 8, ending: 'stall' });
    const error = await failure(
      client({ timeoutMs: 500, maxRetries: 0 }).complete(MESSAGES, { stream: true }),
    );
    expect(error).toBeInstanceOf(LlmTimeoutError);
    expect(error.message).toMatch(/stopped sending its reply \(after 8 characters\).*within 500 ms/);
  });

  it('fails on an empty streamed reply', async () => {
    server.enqueue({ kind: 'reply', text: '' });
    const error = await failure(client().complete(MESSAGES, { stream: true }));
    expect(error).toBeInstanceOf(LlmEmptyReplyError);
  });

  it('lets an error thrown by the progress callback through unchanged', async () => {
    server.enqueue({ kind: 'reply', text: REPLY });
    const mine = new Error('progress display broke');
    await expect(
      client().complete(MESSAGES, {
        stream: true,
        onProgress: () => {
          throw mine;
        },
      }),
    ).rejects.toBe(mine);
  });
});

describe('LlmClient, endpoint failures', () => {
  it('401: one clear message, not retried', async () => {
    server.enqueue({ kind: 'error', status: 401 });
    const error = await failure(client().complete(MESSAGES));
    expect(error).toBeInstanceOf(LlmAuthError);
    expect(error.message).toMatch(
      /rejected the API key \(HTTP 401: Incorrect API key provided.*check OPENAI_API_KEY/,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('429: retried maxRetries times, then a rate-limit error', async () => {
    server.enqueue({ kind: 'error', status: 429 }, { kind: 'error', status: 429 });
    const error = await failure(client({ maxRetries: 1 }).complete(MESSAGES));
    expect(error).toBeInstanceOf(LlmRateLimitError);
    expect(error.message).toMatch(/rate-limiting requests \(HTTP 429: Rate limit reached.*after 1 retry/);
    expect(server.requests).toHaveLength(2);
  });

  it('429 then success: the retry answers', async () => {
    server.enqueue({ kind: 'error', status: 429 }, { kind: 'reply', text: REPLY });
    expect((await client({ maxRetries: 1 }).complete(MESSAGES)).text).toBe(REPLY);
  });

  it('500: retried, then a server error', async () => {
    server.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    const error = await failure(client({ maxRetries: 1 }).complete(MESSAGES, { stream: true }));
    expect(error).toBeInstanceOf(LlmServerError);
    expect(error.message).toMatch(/failed on its side \(HTTP 500: The server had an error/);
    expect(server.requests).toHaveLength(2);
  });

  it('connection refused: names the endpoint and the cause', async () => {
    const port = await closedPort();
    const error = await failure(
      client({ baseUrl: `http://127.0.0.1:${port}/v1`, maxRetries: 1 }).complete(MESSAGES),
    );
    expect(error).toBeInstanceOf(LlmConnectionError);
    expect(error.message).toContain(`http://127.0.0.1:${port}/v1`);
    expect(error.message).toMatch(/connection refused \(ECONNREFUSED\), 2 attempts/);
  });

  it('refuses a base URL with a user name and password before sending anything', () => {
    const url = new URL(server.baseUrl);
    url.username = 'user';
    url.password = 'pa55-w0rd-client';
    expect(() => client({ baseUrl: url.toString() })).toThrow(ConfigError);
    expect(() => client({ baseUrl: url.toString() })).toThrow(/must not hold a user name or password/);
    expect(() => client({ baseUrl: url.toString() })).not.toThrow(/pa55-w0rd-client|cannot connect/);
    expect(server.requests).toHaveLength(0);
  });

  it('an endpoint that never answers: a timeout after the bounded retries', async () => {
    server.enqueue({ kind: 'hang' }, { kind: 'hang' });
    const error = await failure(client({ timeoutMs: 200, maxRetries: 1 }).complete(MESSAGES));
    expect(error).toBeInstanceOf(LlmTimeoutError);
    expect(error.message).toMatch(/did not answer \(2 attempts\) within 200 ms/);
    expect(server.requests).toHaveLength(2);
  });
});

describe('the API key', () => {
  it('is sent only in the Authorization header, and is in no recorded request', async () => {
    server.enqueue({ kind: 'reply', text: REPLY }, { kind: 'reply', text: REPLY });
    const llm = client();
    const plain = await llm.complete(MESSAGES);
    const streamed = await llm.complete(MESSAGES, { stream: true });
    for (const recorded of server.requests) {
      expect(recorded.headers.authorization).toBe(`Bearer ${KEY}`);
      const { authorization: _, ...otherHeaders } = recorded.headers;
      expect(JSON.stringify(otherHeaders)).not.toContain(KEY);
      expect(recorded.rawBody).not.toContain(KEY);
    }
    for (const reply of [plain, streamed]) expect(JSON.stringify(reply)).not.toContain(KEY);
  });

  it('does not show when the client is printed or serialised', () => {
    const llm = client();
    expect(inspect(llm, { depth: 10, showHidden: true })).not.toContain(KEY);
    expect(JSON.stringify(llm)).not.toContain(KEY);
  });

  it('is scrubbed from an error body that echoes it back', async () => {
    const message = `Incorrect API key provided: ${KEY}.`;
    server.enqueue({ kind: 'error', status: 401, message });
    const error = await failure(client().complete(MESSAGES));
    expect(error.message).toContain('Incorrect API key provided: ***.');
  });
});
