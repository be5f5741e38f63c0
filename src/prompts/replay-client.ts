import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PriorStore } from '../controllers/store.js';
import { INPUT_LIMITS, readInputText } from '../core/input-file.js';
import type { ChatCompleter, ChatMessage, LlmReply, LlmRequest } from './chat.js';
import { LlmError } from './errors.js';

/** One recorded exchange: the request as sent and the reply as received. */
export interface RecordedExchange {
  request: LlmRequest;
  reply: { text: string; model: string; finishReason: string };
}

/** The file, beside each version, that keeps every exchange of its generation (retries too). */
export const EXCHANGES_FILE = 'exchanges.json';

/** A prompt that was never recorded, so it cannot be replayed. */
export class ReplayMissError extends LlmError {
  constructor(root: string) {
    super(
      'llm_replay_miss',
      `replay of ${root}`,
      `no recorded reply in ${root} matches this prompt; replay reproduces only recorded runs (drop --llm replay to ask the endpoint)`,
    );
  }
}

/**
 * Answers from recorded exchanges instead of an endpoint: the same conversation gets the same
 * reply, so a generation or feedback round can be replayed offline, exactly.
 */
export class ReplayClient implements ChatCompleter {
  private readonly byPrompt = new Map<string, RecordedExchange>();

  constructor(
    private readonly root: string,
    exchanges: readonly RecordedExchange[],
  ) {
    for (const exchange of exchanges)
      this.byPrompt.set(promptKey(exchange.request.params.messages), exchange);
  }

  /** Every exchange recorded for every version of `task` in the store. */
  static fromStore(store: PriorStore, task: string): ReplayClient {
    const exchanges: RecordedExchange[] = [];
    for (const version of store.versions(task)) {
      const file = join(store.root, task, `v${version}`, EXCHANGES_FILE);
      if (existsSync(file)) {
        const text = readInputText(file, { maxBytes: INPUT_LIMITS.record, what: 'the recorded exchanges' });
        exchanges.push(...(JSON.parse(text) as RecordedExchange[]));
      }
    }
    return new ReplayClient(store.root, exchanges);
  }

  async complete(messages: readonly ChatMessage[]): Promise<LlmReply> {
    const exchange = this.byPrompt.get(promptKey(messages));
    if (!exchange) throw new ReplayMissError(this.root);
    return { ...exchange.reply, usage: undefined, request: exchange.request };
  }
}

/** Conversations are compared by content (role and text of every message). */
function promptKey(messages: readonly ChatMessage[]): string {
  return createHash('sha256')
    .update(JSON.stringify(messages.map((m) => [m.role, m.content])))
    .digest('hex');
}
