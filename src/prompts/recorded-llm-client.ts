import { createHash } from 'node:crypto';
import type { ChatCompleter, ChatMessage, LlmReply, LlmRequest } from './chat.js';
import { LlmError } from './errors.js';

/** One recorded exchange: the request as sent and the reply as received. */
export interface RecordedExchange {
  request: LlmRequest;
  reply: { text: string; model: string; finishReason: string };
}

/** A prompt that was never recorded, so no recorded reply answers it (`--llm replay`). */
export class UnrecordedPromptError extends LlmError {
  constructor(root: string) {
    super(
      'llm_replay_miss',
      `replay of ${root}`,
      `no recorded reply in ${root} matches this prompt; replay reproduces only recorded runs (drop --llm replay to ask the endpoint)`,
    );
  }
}

/**
 * Answers from recorded exchanges instead of an endpoint (`--llm replay`): the same conversation
 * gets the same reply, so a generation or feedback round can be reproduced offline, exactly.
 * Where the exchanges are kept is the controller store's business
 * (src/controllers/recorded-exchanges.ts); this client only answers from them.
 */
export class RecordedLlmClient implements ChatCompleter {
  private readonly byPrompt = new Map<string, RecordedExchange>();

  constructor(
    /** Where the exchanges came from, for the message when a prompt was not recorded. */
    private readonly root: string,
    exchanges: readonly RecordedExchange[],
  ) {
    for (const exchange of exchanges)
      this.byPrompt.set(promptKey(exchange.request.params.messages), exchange);
  }

  async complete(messages: readonly ChatMessage[]): Promise<LlmReply> {
    const exchange = this.byPrompt.get(promptKey(messages));
    if (!exchange) throw new UnrecordedPromptError(this.root);
    return { ...exchange.reply, usage: undefined, request: exchange.request };
  }
}

/** Conversations are compared by content (role and text of every message). */
function promptKey(messages: readonly ChatMessage[]): string {
  return createHash('sha256')
    .update(JSON.stringify(messages.map((m) => [m.role, m.content])))
    .digest('hex');
}
