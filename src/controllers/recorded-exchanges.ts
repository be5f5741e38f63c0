import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { INPUT_LIMITS, readInputText } from '../core/input-file.js';
import { type RecordedExchange, RecordedLlmClient } from '../prompts/recorded-llm-client.js';
import type { PriorStore } from './store.js';

/** The file, beside each version, that keeps every exchange of its generation (retries too). */
export const EXCHANGES_FILE = 'exchanges.json';

/**
 * A client that answers from every exchange recorded for every version of `task` in the store
 * (`--llm replay`). Reading the store is done here, on the store's side, so the prompts need
 * not know how the store lays out its versions (issue #18).
 */
export function recordedLlmClientFor(store: PriorStore, task: string): RecordedLlmClient {
  const exchanges: RecordedExchange[] = [];
  for (const version of store.versions(task)) {
    const file = join(store.root, task, `v${version}`, EXCHANGES_FILE);
    if (existsSync(file)) {
      const text = readInputText(file, { maxBytes: INPUT_LIMITS.record, what: 'the recorded exchanges' });
      exchanges.push(...(JSON.parse(text) as RecordedExchange[]));
    }
  }
  return new RecordedLlmClient(store.root, exchanges);
}
