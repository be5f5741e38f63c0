/**
 * Typed errors of the prompt side: templates, the LLM endpoint, the code in a reply, and the
 * generation loop. Every message says what went wrong and what to do; none ever contains the
 * API key (the client scrubs what the endpoint sends back, see llm-client.ts).
 */
import { ArmpriorError } from '../core/errors.js';
import type { LlmReply } from './chat.js';

/** A template that cannot be read, or whose placeholders do not match the values given. */
export class TemplateError extends ArmpriorError {
  readonly template: string;
  /** Placeholders in the template with no value. */
  readonly missing: readonly string[];
  /** Values given that the template has no placeholder for. */
  readonly unused: readonly string[];
  constructor(
    template: string,
    message: string,
    details: { missing?: readonly string[]; unused?: readonly string[] } = {},
    options?: { cause?: unknown },
  ) {
    super('template_invalid', `template '${template}': ${message}`, options);
    this.template = template;
    this.missing = details.missing ?? [];
    this.unused = details.unused ?? [];
  }
}

/** Options that contradict each other or are out of range (caller's mistake, not the model's). */
export class PromptInputError extends ArmpriorError {
  constructor(message: string) {
    super('prompt_input', message);
  }
}

/** Base of every failure talking to the LLM endpoint; `endpoint` is the base URL (never the key). */
export class LlmError extends ArmpriorError {
  readonly endpoint: string;
  constructor(code: string, endpoint: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.endpoint = endpoint;
  }
}

/** No API key in the environment. */
export class LlmMissingKeyError extends LlmError {
  constructor(endpoint: string) {
    super(
      'llm_no_key',
      endpoint,
      `no API key for ${endpoint}: set OPENAI_API_KEY (a local server without authentication, such as Ollama or llama.cpp, accepts any non-empty value)`,
    );
  }
}

/** Nothing listens at the endpoint, or the host cannot be reached. */
export class LlmConnectionError extends LlmError {
  constructor(endpoint: string, detail: string, options?: { cause?: unknown }) {
    super(
      'llm_connection',
      endpoint,
      `cannot connect to the LLM endpoint ${endpoint} (${detail}); is the server running and is the base URL right (OPENAI_BASE_URL or config/llm.yaml)?`,
      options,
    );
  }
}

/** 401 / 403: the endpoint refused the key. */
export class LlmAuthError extends LlmError {
  readonly status: number;
  constructor(endpoint: string, status: number, detail: string, options?: { cause?: unknown }) {
    super(
      'llm_unauthorized',
      endpoint,
      `the LLM endpoint ${endpoint} rejected the API key (HTTP ${status}: ${detail}); check OPENAI_API_KEY`,
      options,
    );
    this.status = status;
  }
}

/** 429 after the client's bounded retries. */
export class LlmRateLimitError extends LlmError {
  constructor(endpoint: string, retries: number, detail: string, options?: { cause?: unknown }) {
    super(
      'llm_rate_limited',
      endpoint,
      `the LLM endpoint ${endpoint} is rate-limiting requests (HTTP 429: ${detail}), still after ${retries} ${retries === 1 ? 'retry' : 'retries'}; wait and try again, or check the account's quota`,
      options,
    );
  }
}

/** 5xx after the client's bounded retries. */
export class LlmServerError extends LlmError {
  readonly status: number | undefined;
  constructor(endpoint: string, status: number | undefined, detail: string, options?: { cause?: unknown }) {
    super(
      'llm_server_error',
      endpoint,
      `the LLM endpoint ${endpoint} failed on its side (${status === undefined ? 'error event in the stream' : `HTTP ${status}`}: ${detail}); try again later`,
      options,
    );
    this.status = status;
  }
}

/** Another 4xx (unknown model, bad parameter): retrying the same request cannot help. */
export class LlmRequestError extends LlmError {
  readonly status: number;
  constructor(endpoint: string, status: number, detail: string, options?: { cause?: unknown }) {
    super(
      'llm_request_rejected',
      endpoint,
      `the LLM endpoint ${endpoint} rejected the request (HTTP ${status}: ${detail}); check the model name and parameters in config/llm.yaml`,
      options,
    );
    this.status = status;
  }
}

/** No answer (or no more data in a stream) within `timeoutMs`. */
export class LlmTimeoutError extends LlmError {
  readonly timeoutMs: number;
  constructor(endpoint: string, timeoutMs: number, what: string, options?: { cause?: unknown }) {
    super(
      'llm_timeout',
      endpoint,
      `the LLM endpoint ${endpoint} ${what} within ${timeoutMs} ms (timeoutMs in config/llm.yaml)`,
      options,
    );
    this.timeoutMs = timeoutMs;
  }
}

/** A streamed reply that ended before the endpoint said it was finished (no finish_reason). */
export class LlmStreamCutOffError extends LlmError {
  /** Characters of content received before the stream ended. */
  readonly charsReceived: number;
  constructor(endpoint: string, charsReceived: number, detail: string, options?: { cause?: unknown }) {
    super(
      'llm_stream_cut_off',
      endpoint,
      `the reply from ${endpoint} was cut off after ${charsReceived} characters, before the endpoint finished it (${detail}); try again`,
      options,
    );
    this.charsReceived = charsReceived;
  }
}

/** A reply with no text, or a response that is not a chat completion. */
export class LlmEmptyReplyError extends LlmError {
  constructor(endpoint: string, detail: string, options?: { cause?: unknown }) {
    super('llm_empty_reply', endpoint, `the LLM at ${endpoint} returned ${detail}`, options);
  }
}

/** A response that is not a chat completion (not JSON, no `choices`): the endpoint speaks another API. */
export class LlmProtocolError extends LlmError {
  constructor(endpoint: string, detail: string, options?: { cause?: unknown }) {
    super(
      'llm_bad_response',
      endpoint,
      `the LLM endpoint ${endpoint} did not answer like an OpenAI chat-completions API (${detail}); check the base URL`,
      options,
    );
  }
}

/** Why the code in a reply cannot be used. */
export type CodeProblemKind =
  | 'no_code_block'
  | 'several_code_blocks'
  | 'unclosed_code_block'
  | 'syntax_error'
  | 'not_esm'
  | 'imports'
  | 'no_act_export';

/**
 * The reply holds no usable controller module. The message is written to be sent back to the
 * model as it is (the generation loop does), so it speaks of "your reply".
 */
export class ControllerCodeError extends ArmpriorError {
  readonly kind: CodeProblemKind;
  /** Line in the code block (1-based) for syntax errors. */
  readonly line: number | undefined;
  constructor(kind: CodeProblemKind, message: string, details: { line?: number; cause?: unknown } = {}) {
    super(`controller_${kind}`, message, { cause: details.cause });
    this.kind = kind;
    this.line = details.line;
  }
}

/** Every attempt of the generation loop returned unusable code; lists each attempt's problem. */
export class GenerationFailedError extends ArmpriorError {
  readonly problems: readonly string[];
  /** The unusable replies, in order, with the requests that produced them (to store or inspect). */
  readonly replies: readonly LlmReply[];
  constructor(problems: readonly string[], replies: readonly LlmReply[], options?: { cause?: unknown }) {
    super(
      'controller_generation_failed',
      `the LLM returned no usable controller in ${problems.length} ${problems.length === 1 ? 'attempt' : 'attempts'}:\n${problems.map((p, i) => `  ${i + 1}. ${p}`).join('\n')}`,
      options,
    );
    this.problems = problems;
    this.replies = replies;
  }
}
