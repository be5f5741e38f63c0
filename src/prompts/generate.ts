import type { Task } from '../../sim/tasks/task.js';
import type { ObservationLayout } from '../contract/controller-contract.js';
import type { ChatCompleter, ChatMessage, LlmReply, LlmRequest } from './chat.js';
import { ControllerCodeError, GenerationFailedError, PromptInputError } from './errors.js';
import { type ExtractedCode, extractCode } from './extract.js';
import { correctionMessage, feedbackMessage, initialMessages } from './messages.js';
import type { TaskDescriptionOptions } from './task-description.js';

/** What {@link generateController} needs. */
export interface GenerateControllerOptions extends TaskDescriptionOptions {
  readonly client: ChatCompleter;
  readonly task: Task;
  /** The layout of the task's env (`observationLayout(env.observationFields, …)`). */
  readonly layout: ObservationLayout;
  /**
   * The conversation so far (`messages` of the previous round's result). Without it this is a
   * first round: system, guidelines and task description. With it, a feedback round.
   */
  readonly history?: readonly ChatMessage[];
  /** The code the feedback is about; default: the code in the last assistant message of `history`. */
  readonly previousCode?: string;
  /** What the person said about the previous controller. */
  readonly feedback?: string;
  /** The automatic rollout summary of the previous controller (RLingua's critic feedback). */
  readonly rolloutSummary?: string;
  /** Replies to try before giving up (≥ 1); each retry tells the model what was wrong. */
  readonly maxAttempts: number;
  /** Stream replies (for progress). */
  readonly stream?: boolean;
  /** Characters received so far in the current attempt (1-based `attempt`). */
  readonly onProgress?: (charsReceived: number, attempt: number) => void;
}

/** One reply and, if it was unusable, why. */
export interface GenerationAttempt {
  readonly reply: LlmReply;
  /** Undefined for the accepted reply. */
  readonly problem?: string;
}

/** A controller the model wrote, with everything needed to store and replay it. */
export interface GeneratedController {
  /** The JavaScript module to run in the sandbox. */
  readonly code: string;
  readonly extracted: ExtractedCode;
  /** The accepted reply. */
  readonly reply: LlmReply;
  /** The exact request that produced it (its messages include any failed attempts). */
  readonly request: LlmRequest;
  /** Every attempt in order; the last is the accepted one. */
  readonly attempts: readonly GenerationAttempt[];
  /**
   * The conversation to continue from in the next feedback round: this round's prompt and the
   * accepted reply, without the failed attempts and their corrections (they would only
   * distract the model later).
   */
  readonly messages: readonly ChatMessage[];
}

/**
 * Asks the model for a controller and takes its code out of the reply (RLingua §III-A, and
 * §III-B for feedback rounds). A reply whose code cannot be used (no block, several blocks, a
 * syntax error, no `act` export…) is answered with a correction naming the problem, up to
 * `maxAttempts` replies in all; then {@link GenerationFailedError} lists every problem. Errors
 * of the endpoint itself (LlmError) are not retried here: the client already retried them.
 */
export async function generateController(options: GenerateControllerOptions): Promise<GeneratedController> {
  const { client, maxAttempts } = options;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new PromptInputError(`maxAttempts must be a whole number ≥ 1, got ${maxAttempts}`);
  }
  const prompt = promptMessages(options);
  let conversation: ChatMessage[] = [...prompt];
  const attempts: GenerationAttempt[] = [];
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const onProgress = options.onProgress;
    const reply = await client.complete(conversation, {
      ...(options.stream === undefined ? {} : { stream: options.stream }),
      ...(onProgress ? { onProgress: (chars: number) => onProgress(chars, attempt) } : {}),
    });
    let extracted: ExtractedCode;
    try {
      extracted = extractCode(reply.text);
    } catch (error) {
      if (!(error instanceof ControllerCodeError)) throw error;
      const problem = describeProblem(error, reply);
      attempts.push({ reply, problem });
      conversation = [
        ...conversation,
        { role: 'assistant', content: reply.text },
        correctionMessage(problem),
      ];
      continue;
    }
    attempts.push({ reply });
    return {
      code: extracted.code,
      extracted,
      reply,
      request: reply.request,
      attempts,
      messages: [...prompt, { role: 'assistant', content: reply.text }],
    };
  }
  throw new GenerationFailedError(
    attempts.map((a) => a.problem ?? ''),
    attempts.map((a) => a.reply),
  );
}

/** The messages of this round: the opening prompt, or the history plus the feedback message. */
function promptMessages(options: GenerateControllerOptions): ChatMessage[] {
  const { history, feedback, rolloutSummary } = options;
  if (history === undefined || history.length === 0) {
    if (feedback !== undefined || rolloutSummary !== undefined || options.previousCode !== undefined) {
      throw new PromptInputError(
        'feedback, a rollout summary or previous code needs the conversation it refers to (history)',
      );
    }
    const descriptionOptions = options.robot === undefined ? {} : { robot: options.robot };
    return initialMessages(options.task, options.layout, descriptionOptions);
  }
  if (feedback === undefined && rolloutSummary === undefined) {
    throw new PromptInputError('a feedback round needs feedback, a rollout summary, or both');
  }
  const previousCode = options.previousCode ?? lastAssistantCode(history);
  return [
    ...history,
    feedbackMessage({ previousCode, feedback: feedback ?? '', rolloutSummary: rolloutSummary ?? '' }),
  ];
}

function lastAssistantCode(history: readonly ChatMessage[]): string {
  const last = [...history].reverse().find((m) => m.role === 'assistant');
  if (!last) {
    throw new PromptInputError('the history has no assistant reply to give feedback on; pass previousCode');
  }
  try {
    return extractCode(last.content).code;
  } catch (error) {
    throw new PromptInputError(
      `the last reply in the history holds no usable code (${(error as Error).message}); pass previousCode`,
    );
  }
}

/** The problem as the model will read it, with a hint when the reply hit the token limit. */
function describeProblem(error: ControllerCodeError, reply: LlmReply): string {
  if (reply.finishReason !== 'length') return error.message;
  return `${error.message} (your reply reached the limit of ${reply.request.params.max_tokens} tokens: keep it shorter)`;
}
