import { feedbackRound } from '../controllers/prior-rounds.js';
import type { PriorStore } from '../controllers/store.js';
import type { ChatCompleter } from '../prompts/chat.js';
import type { FeedbackResult } from './api-types.js';
import type { FeedbackRunner } from './feedback-jobs.js';

/** What a feedback round from the page needs besides the request. */
export interface FeedbackRunnerOptions {
  store: PriorStore;
  /** The LLM client for a task (the recorded-exchange client is per task). */
  clientFor: (task: string) => ChatCompleter;
  /** Evaluation episodes, on the fixed seed set. */
  episodes: number;
  robot?: string | undefined;
  maxAttempts?: number;
}

/**
 * Feedback from the page goes through exactly the code of `armprior prior feedback`
 * (`feedbackRound`: the base's saved evaluation, or a new one, then the LLM with the feedback and
 * the rollout summary, then the new version, evaluated and stored), with its progress hooks
 * turned into text.
 */
export function createFeedbackRunner(options: FeedbackRunnerOptions): FeedbackRunner {
  return async (request, onProgress): Promise<FeedbackResult> => {
    onProgress('starting the round');
    const result = await feedbackRound({
      store: options.store,
      client: options.clientFor(request.task),
      task: request.task,
      episodes: options.episodes,
      robot: options.robot,
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
      feedback: request.feedback,
      ...(request.from !== undefined ? { from: request.from } : {}),
      stream: true,
      onProgress: (chars, attempt) =>
        onProgress(`LLM reply: ${chars} characters${attempt > 1 ? ` (attempt ${attempt})` : ''}`),
      onEpisode: (label, done, total) => onProgress(`evaluating ${label}: episode ${done}/${total}`),
    });
    return {
      version: result.version,
      successRate: result.evaluation.stats.successRate,
      summary: result.evaluation.summary,
    };
  };
}
