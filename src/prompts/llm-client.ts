import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type {
  ChatCompleter,
  ChatMessage,
  ChatRequestParams,
  CompleteOptions,
  LlmReply,
  LlmRequest,
  LlmUsage,
} from './chat.js';
import {
  LlmAuthError,
  LlmConnectionError,
  LlmEmptyReplyError,
  LlmError,
  LlmMissingKeyError,
  LlmProtocolError,
  LlmRateLimitError,
  LlmRequestError,
  LlmServerError,
  LlmStreamCutOffError,
  LlmTimeoutError,
} from './errors.js';
import {
  baseUrlCredentialsProblem,
  type Environment,
  type LlmConfig,
  loadLlmConfig,
  readApiKey,
} from './llm-config.js';
import { redactSecret, scrubError } from './redact.js';

/**
 * A chat-completions client for any OpenAI-compatible endpoint, on the `openai` package (6.x:
 * 7.x needs Node 22). What it adds to the package:
 *
 * - the timeout and the bounded retries of `config/llm.yaml` on every call (the package's
 *   defaults are 10 minutes and 2 retries), and a timeout on the body too: the package's timer
 *   stops once the response headers arrive, so a stream that stalls would otherwise hang forever;
 * - a streamed reply counts as complete only with a `finish_reason`; otherwise it was cut off;
 * - one typed error per failure, each with one clear message (see errors.ts);
 * - the key lives only inside this object (an ES private field, invisible to `inspect` and
 *   `JSON.stringify`) and is scrubbed from anything the endpoint sends back;
 * - each reply carries the exact request body sent, for the controller store's offline replay.
 */
export class LlmClient implements ChatCompleter {
  readonly config: LlmConfig;
  readonly #openai: OpenAI;
  readonly #apiKey: string;

  constructor(config: LlmConfig, credentials: { apiKey: string }) {
    // loadLlmConfig refuses it already; a config built in code must not get past either.
    const problem = baseUrlCredentialsProblem(config.baseUrl);
    if (problem !== undefined) throw new ConfigError('the LLM client config', [`baseUrl: ${problem}`]);
    this.config = config;
    this.#apiKey = credentials.apiKey;
    this.#openai = new OpenAI({
      apiKey: credentials.apiKey,
      baseURL: config.baseUrl,
      timeout: config.timeoutMs,
      maxRetries: config.maxRetries,
    });
  }

  /** The model's reply to `messages`; throws an {@link LlmError} subclass on any failure. */
  async complete(messages: readonly ChatMessage[], options: CompleteOptions = {}): Promise<LlmReply> {
    const stream = options.stream ?? false;
    const { config } = this;
    const params: ChatRequestParams = {
      model: config.model,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      temperature: config.temperature,
      max_tokens: config.maxTokens,
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
    };
    const request: LlmRequest = deepFreeze(structuredClone({ baseUrl: config.baseUrl, params }));
    const call = new Call(config, this.#apiKey);
    try {
      return stream
        ? await this.#streamed(params, request, call, options.onProgress)
        : await this.#plain(params, request, call);
    } catch (error) {
      throw call.toLlmError(error);
    } finally {
      call.stopTimer();
    }
  }

  async #plain(params: ChatRequestParams, request: LlmRequest, call: Call): Promise<LlmReply> {
    // asResponse() resolves once the headers are in, so the body gets its own timer.
    const response = await this.#openai.chat.completions
      .create({ ...mutableBody(params), stream: false }, call.requestOptions())
      .asResponse();
    call.enterBody();
    call.armTimer();
    const text = await response.text();
    call.stopTimer();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new LlmProtocolError(call.endpoint, `a body that is not JSON: ${call.redact(excerpt(text))}`, {
        cause,
      });
    }
    const parsed = CompletionSchema.safeParse(json);
    if (!parsed.success) {
      throw new LlmProtocolError(
        call.endpoint,
        `no \`choices\` in the response: ${call.redact(excerpt(text))}`,
      );
    }
    const choice = parsed.data.choices[0];
    const finishReason = choice?.finish_reason ?? 'unknown';
    const content = choice?.message.content ?? '';
    if (content.trim() === '') throw call.emptyReply(finishReason, choice?.message.refusal ?? undefined);
    return {
      text: content,
      model: parsed.data.model ?? params.model,
      finishReason,
      usage: toUsage(parsed.data.usage),
      request,
    };
  }

  async #streamed(
    params: ChatRequestParams,
    request: LlmRequest,
    call: Call,
    onProgress: ((charsReceived: number) => void) | undefined,
  ): Promise<LlmReply> {
    const stream = await this.#openai.chat.completions.create(
      { ...mutableBody(params), stream: true, stream_options: { include_usage: true } },
      call.requestOptions(),
    );
    call.enterBody();
    const pieces: string[] = [];
    let finishReason: string | undefined;
    let model = params.model;
    let usage: LlmUsage | undefined;
    call.armTimer();
    for await (const chunk of stream as AsyncIterable<ChatCompletionChunk>) {
      call.armTimer(); // idle timeout: restarts with every piece
      if (typeof chunk.model === 'string' && chunk.model !== '') model = chunk.model;
      usage = toUsage(chunk.usage) ?? usage;
      const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      const piece = choice?.delta?.content;
      if (typeof piece === 'string' && piece !== '') {
        pieces.push(piece);
        call.charsReceived += piece.length;
        if (onProgress) call.progress(onProgress);
      }
    }
    call.stopTimer();
    // The package ends the iteration quietly when the request is aborted: ours only aborts on idle.
    if (call.timedOut) throw call.bodyTimeout();
    if (finishReason === undefined) {
      throw new LlmStreamCutOffError(
        call.endpoint,
        call.charsReceived,
        'the stream ended without a finish_reason or [DONE]',
      );
    }
    const text = pieces.join('');
    if (text.trim() === '') throw call.emptyReply(finishReason, undefined);
    return { text, model, finishReason, usage, request };
  }
}

/**
 * A client for `config/llm.yaml` (or `file`) with the environment's overrides and the key from
 * `OPENAI_API_KEY`; throws {@link LlmMissingKeyError} when there is none.
 */
export function createLlmClient(options: { file?: string; env?: Environment } = {}): LlmClient {
  const config = loadLlmConfig(options);
  const apiKey = readApiKey(options.env);
  if (apiKey === undefined) throw new LlmMissingKeyError(config.baseUrl);
  return new LlmClient(config, { apiKey });
}

/** State of one `complete()` call: its phase, its body timer, and how its errors read. */
class Call {
  readonly endpoint: string;
  readonly controller = new AbortController();
  charsReceived = 0;
  timedOut = false;
  private inBody = false;
  private timer: NodeJS.Timeout | undefined;
  private progressError: { error: unknown } | undefined;

  constructor(
    private readonly config: LlmConfig,
    private readonly secret: string,
  ) {
    this.endpoint = config.baseUrl;
  }

  requestOptions() {
    return {
      timeout: this.config.timeoutMs,
      maxRetries: this.config.maxRetries,
      signal: this.controller.signal,
    };
  }

  enterBody(): void {
    this.inBody = true;
  }

  /** (Re)starts the body timer; when it fires, the request is aborted and the call is a timeout. */
  armTimer(): void {
    this.stopTimer();
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, this.config.timeoutMs);
  }

  stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Calls the progress callback; an error it throws is the caller's and passes through unchanged. */
  progress(onProgress: (charsReceived: number) => void): void {
    try {
      onProgress(this.charsReceived);
    } catch (error) {
      this.progressError = { error };
      throw error;
    }
  }

  redact(text: string): string {
    return redactSecret(text, this.secret);
  }

  bodyTimeout(cause?: unknown): LlmTimeoutError {
    return new LlmTimeoutError(
      this.endpoint,
      this.config.timeoutMs,
      `stopped sending its reply (after ${this.charsReceived} characters) and sent nothing more`,
      { cause: scrubError(cause, this.secret) },
    );
  }

  emptyReply(finishReason: string, refusal: string | undefined): LlmEmptyReplyError {
    const why = refusal ? `a refusal instead of code: "${this.redact(refusal)}"` : 'an empty reply';
    return new LlmEmptyReplyError(
      this.endpoint,
      `${why} (finish_reason: ${finishReason}${finishReason === 'length' ? '; maxTokens in config/llm.yaml may be too small' : ''})`,
    );
  }

  /** Turns whatever was thrown into the one typed error that explains it. */
  toLlmError(error: unknown): unknown {
    if (this.progressError && error === this.progressError.error) return error;
    if (error instanceof LlmError) return error;
    const cause = scrubError(error, this.secret);
    const retries = this.config.maxRetries;
    const attempts = `${retries + 1} ${retries === 0 ? 'attempt' : 'attempts'}`;
    if (this.timedOut) return this.bodyTimeout(error);
    if (error instanceof APIConnectionTimeoutError) {
      return new LlmTimeoutError(this.endpoint, this.config.timeoutMs, `did not answer (${attempts})`, {
        cause,
      });
    }
    if (error instanceof APIUserAbortError) {
      return new LlmTimeoutError(this.endpoint, this.config.timeoutMs, 'did not answer', { cause });
    }
    if (error instanceof APIConnectionError) {
      return new LlmConnectionError(this.endpoint, `${connectionProblem(error)}, ${attempts}`, { cause });
    }
    if (error instanceof APIError) {
      const detail = this.redact(apiErrorDetail(error));
      const status = error.status as number | undefined;
      if (status === undefined) return new LlmServerError(this.endpoint, undefined, detail, { cause });
      if (status === 401 || status === 403) return new LlmAuthError(this.endpoint, status, detail, { cause });
      if (status === 429) return new LlmRateLimitError(this.endpoint, retries, detail, { cause });
      if (status >= 500) return new LlmServerError(this.endpoint, status, detail, { cause });
      return new LlmRequestError(this.endpoint, status, detail, { cause });
    }
    if (this.inBody) {
      // undici reports a connection closed mid-body as `TypeError: terminated`.
      return new LlmStreamCutOffError(
        this.endpoint,
        this.charsReceived,
        `the connection closed mid-reply: ${this.redact(errorText(error))}`,
        { cause },
      );
    }
    return error;
  }
}

/** What a non-streamed chat completion must hold; everything else is ignored. */
const CompletionSchema = z.object({
  model: z.string().optional(),
  choices: z.array(
    z.object({
      message: z.object({
        content: z.string().nullable().optional(),
        refusal: z.string().nullable().optional(),
      }),
      finish_reason: z.string().nullable().optional(),
    }),
  ),
  usage: z.unknown().optional(),
});

const UsageSchema = z.object({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number(),
});

function toUsage(raw: unknown): LlmUsage | undefined {
  const parsed = UsageSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  return {
    promptTokens: parsed.data.prompt_tokens,
    completionTokens: parsed.data.completion_tokens,
    totalTokens: parsed.data.total_tokens,
  };
}

/** The body as the `openai` package types it (mutable arrays); same values as `params`. */
function mutableBody(params: ChatRequestParams) {
  return {
    model: params.model,
    messages: params.messages.map((m) => ({ role: m.role, content: m.content })),
    temperature: params.temperature,
    max_tokens: params.max_tokens,
  };
}

/** The endpoint's own words: the `error.message` of its JSON body when there is one. */
function apiErrorDetail(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  if (body && typeof body.message === 'string' && body.message !== '') return body.message;
  return error.message.replace(/^\d{3}\s+/, '');
}

/** "connection refused (ECONNREFUSED)" and the like, from the cause chain of a failed fetch. */
function connectionProblem(error: APIConnectionError): string {
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    CERT_HAS_EXPIRED: 'TLS certificate expired',
  };
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return `${known[code] ?? 'connection failed'} (${code})`;
    current = (current as { cause?: unknown }).cause;
  }
  return 'connection failed';
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat === '' ? '(empty body)' : flat;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
