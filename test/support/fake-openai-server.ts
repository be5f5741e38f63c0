import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API, for testing the
 * real `openai` client without a network or a key. `POST /v1/chat/completions` answers with
 * plain JSON, or with server-sent events when the body asks for `stream: true`, in the API's
 * exact shapes: `chat.completion.chunk` objects whose `choices[0].delta.content` carries the
 * text, a last choice chunk with `finish_reason`, a usage chunk when `stream_options.include_usage`
 * is set, then `data: [DONE]`.
 *
 * Each request takes the next scripted {@link FakeBehaviour} from the queue; with the queue
 * empty it answers 500 with a message saying so, so a test that sends more requests than it
 * expected fails loudly. Every request is recorded, headers included.
 *
 * ```ts
 * const server = new FakeOpenAiServer();
 * await server.start();
 * server.enqueue({ kind: 'reply', text: 'hello' });
 * // new OpenAI({ baseURL: server.baseUrl, apiKey: 'sk-test' }) …
 * await server.stop();
 * ```
 */
export class FakeOpenAiServer {
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeBehaviour[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private port = 0;

  /** Listens on 127.0.0.1, on a free port. */
  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => this.handle(req.method ?? '', req.url ?? '', req.headers, chunks, res));
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Closes every connection (hanging ones too) and the server. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** `http://127.0.0.1:<port>/v1`, the base URL to give the client. */
  get baseUrl(): string {
    if (!this.server) throw new Error('FakeOpenAiServer: start() it first');
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** Appends behaviours, one per coming request (retries are requests too). */
  enqueue(...behaviours: FakeBehaviour[]): void {
    this.queue.push(...behaviours);
  }

  /** Behaviours not used yet. */
  get pending(): number {
    return this.queue.length;
  }

  private handle(
    method: string,
    url: string,
    headers: IncomingHttpHeaders,
    chunks: Buffer[],
    res: ServerResponse,
  ): void {
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = rawBody === '' ? undefined : JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    this.requests.push({ method, path: url, headers: { ...headers }, rawBody, body });
    if (method !== 'POST' || url !== '/v1/chat/completions') {
      sendError(res, { kind: 'error', status: 404, message: `fake server: no route ${method} ${url}` });
      return;
    }
    const behaviour = this.queue.shift();
    if (!behaviour) {
      sendError(res, { kind: 'error', status: 500, message: 'fake server: no scripted behaviour left' });
      return;
    }
    const request = (body ?? {}) as ChatBody;
    const streaming = request.stream === true;
    const model = request.model ?? 'fake-model';
    switch (behaviour.kind) {
      case 'reply':
        if (streaming) sendStream(res, behaviour, model, request, 'complete');
        else sendCompletion(res, behaviour, model, request);
        return;
      case 'error':
        sendError(res, behaviour);
        return;
      case 'hang':
        return; // never answer; stop() closes the socket
      case 'raw':
        res.writeHead(behaviour.status ?? 200, { 'content-type': behaviour.contentType ?? 'text/html' });
        res.end(behaviour.body);
        return;
      case 'cut-off':
        if (streaming)
          sendStream(res, { ...behaviour, kind: 'reply' }, model, request, behaviour.ending ?? 'close');
        else sendCutPlain(res, behaviour, model, request);
        return;
    }
  }
}

/** What the server does with one request. */
export type FakeBehaviour =
  | {
      /** A normal reply (plain or streamed, as the request asks). */
      kind: 'reply';
      text: string;
      /** Default `stop`. */
      finishReason?: string;
      /** The model name to report; default: the one requested. */
      model?: string;
      /** Characters per streamed chunk; default 8. */
      chunkChars?: number;
    }
  | {
      /** An HTTP error with an OpenAI-style body `{ error: { message, type, param, code } }`. */
      kind: 'error';
      status: number;
      message?: string;
      type?: string;
      code?: string;
      /**
       * `retry-after-ms` header, which the `openai` package obeys; default 1 so retried tests
       * stay fast. Set `null` to send none (the package then backs off ~0.5 s).
       */
      retryAfterMs?: number | null;
    }
  | {
      /** Accept the request and never answer. */
      kind: 'hang';
    }
  | {
      /** Any body, for endpoints that are not chat-completions APIs (a web page, another API). */
      kind: 'raw';
      body: string;
      /** Default 200. */
      status?: number;
      /** Default text/html. */
      contentType?: string;
    }
  | {
      /**
       * Start the reply and break off: streamed, send the first `sendChars` characters of
       * `text` as chunks, with no `finish_reason` and no `[DONE]`; plain, send the headers and
       * half of the JSON body. Then, by `ending`: `close` the socket (default), `end` the
       * response cleanly, or `stall` (keep the connection open and send nothing more).
       */
      kind: 'cut-off';
      text: string;
      sendChars?: number;
      ending?: 'close' | 'end' | 'stall';
    };

/** A request as the server received it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: string;
  /** The parsed JSON body (undefined if it was not JSON). */
  readonly body: unknown;
}

interface ChatBody {
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  messages?: { content?: unknown }[];
}

/** Fixed, so recorded replies are identical from run to run. */
const CREATED = 1_700_000_000;
const ID = 'chatcmpl-fake';

function usageFor(request: ChatBody, text: string) {
  // A rough token count (4 characters a token); only its presence and shape matter in tests.
  const promptChars = (request.messages ?? []).reduce(
    (n, m) => n + (typeof m.content === 'string' ? m.content.length : 0),
    0,
  );
  const prompt = Math.ceil(promptChars / 4);
  const completion = Math.ceil(text.length / 4);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function sendCompletion(
  res: ServerResponse,
  behaviour: Extract<FakeBehaviour, { kind: 'reply' }>,
  model: string,
  request: ChatBody,
): void {
  const body = JSON.stringify(completionBody(behaviour, model, request));
  res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_fake' });
  res.end(body);
}

function completionBody(
  behaviour: Extract<FakeBehaviour, { kind: 'reply' }>,
  model: string,
  request: ChatBody,
) {
  return {
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model: behaviour.model ?? model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: behaviour.text, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: behaviour.finishReason ?? 'stop',
      },
    ],
    usage: usageFor(request, behaviour.text),
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  };
}

function sendCutPlain(
  res: ServerResponse,
  behaviour: Extract<FakeBehaviour, { kind: 'cut-off' }>,
  model: string,
  request: ChatBody,
): void {
  const body = JSON.stringify(completionBody({ kind: 'reply', text: behaviour.text }, model, request));
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write(body.slice(0, Math.floor(body.length / 2)));
  finishCut(res, behaviour.ending ?? 'close');
}

function sendStream(
  res: ServerResponse,
  behaviour: Extract<FakeBehaviour, { kind: 'reply' }> & { sendChars?: number },
  model: string,
  request: ChatBody,
  ending: 'complete' | 'close' | 'end' | 'stall',
): void {
  const includeUsage = request.stream_options?.include_usage === true;
  const name = behaviour.model ?? model;
  const chunk = (choices: unknown[], usage: unknown = null) => {
    const data: Record<string, unknown> = {
      id: ID,
      object: 'chat.completion.chunk',
      created: CREATED,
      model: name,
      service_tier: 'default',
      system_fingerprint: 'fp_fake',
      choices,
    };
    if (includeUsage) data.usage = usage;
    res.write(`data: ${JSON.stringify(data)}\n\n`);
  };
  const choice = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    index: 0,
    delta,
    logprobs: null,
    finish_reason: finishReason,
  });
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const text = ending === 'complete' ? behaviour.text : behaviour.text.slice(0, behaviour.sendChars);
  chunk([choice({ role: 'assistant', content: '', refusal: null })]);
  const size = behaviour.chunkChars ?? 8;
  for (let i = 0; i < text.length; i += size) chunk([choice({ content: text.slice(i, i + size) })]);
  if (ending !== 'complete') {
    finishCut(res, ending);
    return;
  }
  chunk([choice({}, behaviour.finishReason ?? 'stop')]);
  if (includeUsage) chunk([], usageFor(request, text));
  res.write('data: [DONE]\n\n');
  res.end();
}

function finishCut(res: ServerResponse, how: 'close' | 'end' | 'stall'): void {
  if (how === 'end') res.end();
  // Flush what was written, then drop the connection without ending the chunked body.
  else if (how === 'close') setImmediate(() => res.socket?.destroy());
}

function sendError(res: ServerResponse, behaviour: Extract<FakeBehaviour, { kind: 'error' }>): void {
  const defaults: Record<number, { message: string; type: string; code: string | null }> = {
    401: {
      message:
        'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
      type: 'invalid_request_error',
      code: 'invalid_api_key',
    },
    429: {
      message: 'Rate limit reached for requests. Please try again in 1s.',
      type: 'requests',
      code: 'rate_limit_exceeded',
    },
    500: {
      message: 'The server had an error while processing your request. Sorry about that!',
      type: 'server_error',
      code: null,
    },
  };
  const base = defaults[behaviour.status] ?? {
    message: `HTTP ${behaviour.status}`,
    type: 'error',
    code: null,
  };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const retryAfterMs = behaviour.retryAfterMs === undefined ? 1 : behaviour.retryAfterMs;
  if (retryAfterMs !== null) headers['retry-after-ms'] = String(retryAfterMs);
  res.writeHead(behaviour.status, headers);
  res.end(
    JSON.stringify({
      error: {
        message: behaviour.message ?? base.message,
        type: behaviour.type ?? base.type,
        param: null,
        code: behaviour.code ?? base.code,
      },
    }),
  );
}

/** A port on 127.0.0.1 where nothing listens (bound, then released), for connection-refused tests. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
