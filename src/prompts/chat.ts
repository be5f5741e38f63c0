/**
 * The shapes exchanged with a chat-completions endpoint, shared by the client, the generation
 * loop and whoever records prompts for offline replay. Field names inside {@link LlmRequest}
 * `params` are the wire names (snake_case), since it is the exact body that was sent.
 */

/** One message of a chat conversation. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** The exact body sent to `POST {baseUrl}/chat/completions`. The API key is never part of it. */
export interface ChatRequestParams {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly temperature: number;
  readonly max_tokens: number;
  readonly stream: boolean;
  /** Asks a streaming endpoint for token counts in a last chunk. */
  readonly stream_options?: { readonly include_usage: boolean };
}

/** What was sent, where: enough to replay the request against the same or another endpoint. */
export interface LlmRequest {
  readonly baseUrl: string;
  readonly params: ChatRequestParams;
}

/** Token counts, when the endpoint reports them. */
export interface LlmUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
}

/** A complete reply. */
export interface LlmReply {
  readonly text: string;
  /** The model that answered, as the endpoint names it (may differ from the one asked for). */
  readonly model: string;
  /** Why generation stopped: `stop`, `length` (hit maxTokens), `content_filter`… */
  readonly finishReason: string;
  readonly usage: LlmUsage | undefined;
  readonly request: LlmRequest;
}

/** Options of one completion call. */
export interface CompleteOptions {
  /** Stream the reply (server-sent events); needed for progress. Default false. */
  readonly stream?: boolean;
  /** Called with the number of characters received so far, after each streamed piece. */
  readonly onProgress?: (charsReceived: number) => void;
}

/** Anything that answers a conversation: the OpenAI-compatible client, or recorded exchanges (recorded-llm-client.ts). */
export interface ChatCompleter {
  complete(messages: readonly ChatMessage[], options?: CompleteOptions): Promise<LlmReply>;
}
