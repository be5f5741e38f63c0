import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArmEnv } from '../../sim/env.js';
import { INPUT_LIMITS, readInputText } from '../core/input-file.js';
import type { ChatCompleter, ChatMessage } from '../prompts/chat.js';
import { checkControllerSource } from '../prompts/extract.js';
import { generateController } from '../prompts/generate.js';
import { initialMessages } from '../prompts/messages.js';
import { EXCHANGES_FILE, type RecordedExchange } from '../prompts/replay-client.js';
import { priorActorName, ReplayRecorder } from '../replays/replay-recorder.js';
import { observationLayout } from './contract.js';
import { type ControllerEvaluation, evaluateController, evaluationSeeds } from './evaluate.js';
import { bundledReply, createPriorController, type ResolvedPrior, resolvePrior } from './priors.js';
import type { PriorStore } from './store.js';

/** Kept beside each version: the conversation a feedback round on it continues. */
const CONVERSATION_FILE = 'conversation.json';

/** Options shared by a first generation and a feedback round. */
export interface RoundOptions {
  store: PriorStore;
  client: ChatCompleter;
  task: string;
  /** Episodes of the evaluation (on the fixed seed set). */
  episodes: number;
  robot?: string | undefined;
  maxAttempts?: number;
  stream?: boolean;
  onProgress?: (charsReceived: number, attempt: number) => void;
  onEpisode?: (label: string, done: number, total: number) => void;
  /** Save every evaluation episode as a replay in the store (`v<N>/replays/`); default true. */
  replays?: boolean;
}

export interface RoundResult {
  version: number;
  evaluation: ControllerEvaluation;
  /** The version (or bundled prior) the feedback was about, and its evaluation. */
  parent?: { prior: ResolvedPrior; evaluation: ControllerEvaluation };
  attempts: number;
}

/** Asks the LLM for a first controller, stores it as a new version and evaluates it. */
export async function generateRound(options: RoundOptions): Promise<RoundResult> {
  return withEnv(options, async (env) => {
    const layout = observationLayout(env.observationFields, env.task.goalFields, env.actionSize);
    const generated = await generateController({
      client: options.client,
      task: env.task,
      layout,
      maxAttempts: options.maxAttempts ?? 3,
      ...(options.stream !== undefined ? { stream: options.stream } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const version = storeGenerated(options, generated, { feedback: null, parent: null });
    const evaluation = await evaluate(env, resolvePrior(options.store, options.task, `v${version}`), {
      ...options,
      replaysDir: replaysDirOf(options, version),
    });
    options.store.saveEvaluation(options.task, version, evaluationRecord(evaluation));
    return { version, evaluation, attempts: generated.attempts.length };
  });
}

/**
 * One round of human feedback (RLingua §III-B): the conversation that produced the base version
 * (or the bundled prior's), the person's feedback and the automatic rollout summary of the base
 * go to the LLM; its new controller becomes the next version, evaluated on the same seeds.
 */
export async function feedbackRound(
  options: RoundOptions & { feedback: string; from?: string },
): Promise<RoundResult> {
  return withEnv(options, async (env) => {
    const layout = observationLayout(env.observationFields, env.task.goalFields, env.actionSize);
    const base = resolvePrior(options.store, options.task, options.from);
    const history = conversationOf(options.store, base, initialMessages(env.task, layout));
    const baseEvaluation = await evaluate(env, base, {
      ...options,
      replaysDir: replaysDirOf(options, base.version),
    });
    if (base.version !== 'bundled') {
      options.store.saveEvaluation(options.task, base.version, evaluationRecord(baseEvaluation));
    }
    const generated = await generateController({
      client: options.client,
      task: env.task,
      layout,
      history,
      previousCode: base.code,
      feedback: options.feedback,
      rolloutSummary: baseEvaluation.summary,
      maxAttempts: options.maxAttempts ?? 3,
      ...(options.stream !== undefined ? { stream: options.stream } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const version = storeGenerated(options, generated, {
      feedback: options.feedback,
      parent: base.version === 'bundled' ? null : base.version,
    });
    const evaluation = await evaluate(env, resolvePrior(options.store, options.task, `v${version}`), {
      ...options,
      replaysDir: replaysDirOf(options, version),
    });
    options.store.saveEvaluation(options.task, version, evaluationRecord(evaluation));
    return {
      version,
      evaluation,
      parent: { prior: base, evaluation: baseEvaluation },
      attempts: generated.attempts.length,
    };
  });
}

/**
 * A person's own edit, for when fixing the code is quicker than describing the fix in a
 * feedback round (RLingua §III-B has the person describe it): `source` is checked like an LLM reply's code (syntax, no
 * imports, an `act` export), stored as the next version with `parent` the version it edits,
 * and evaluated on the same seeds. Feedback rounds on it see the code as the previous answer.
 */
export async function addRound(
  options: Pick<RoundOptions, 'store' | 'task' | 'episodes' | 'robot' | 'onEpisode' | 'replays'> & {
    source: string;
    language: 'javascript' | 'typescript';
    /** Where the module came from, kept in request.json. */
    origin: string;
    /** The version this edits (default: the active one); the bundled prior leaves no parent. */
    from?: string;
    /** What was changed and why, kept as the version's feedback.md. */
    note?: string;
  },
): Promise<RoundResult> {
  const checked = checkControllerSource(options.source, options.language);
  return withEnv(options, async (env) => {
    const base = resolvePrior(options.store, options.task, options.from);
    const fence = options.language === 'typescript' ? 'typescript' : 'javascript';
    const version = options.store.create(options.task, {
      code: checked.code,
      reply: `\`\`\`${fence}\n${checked.source.trimEnd()}\n\`\`\`\n`,
      request: { source: 'person', file: options.origin },
      feedback: options.note ?? null,
      parent: base.version === 'bundled' ? null : base.version,
      source: 'person',
      attempts: 0,
    });
    const evaluation = await evaluate(env, resolvePrior(options.store, options.task, `v${version}`), {
      ...options,
      replaysDir: options.replays === false ? undefined : options.store.replaysDir(options.task, version),
    });
    options.store.saveEvaluation(options.task, version, evaluationRecord(evaluation));
    return { version, evaluation, attempts: 0 };
  });
}

/** What is saved as a version's evaluation.json. */
export function evaluationRecord(evaluation: ControllerEvaluation): Record<string, unknown> {
  return {
    successRate: evaluation.stats.successRate,
    episodes: evaluation.stats.episodes,
    seeds: evaluation.seeds,
    meanReturn: evaluation.stats.meanReturn,
    summary: evaluation.summary,
    perEpisode: evaluation.episodes.map((e) => ({
      seed: e.seed,
      success: e.success,
      return: e.return,
      length: e.length,
      outcome: e.outcome,
      controllerFailures: e.controllerFailures,
      abortReason: e.abortReason ?? null,
    })),
  };
}

/**
 * Evaluates a prior on the fixed seed set with `env`; with `replaysDir`, every episode is saved
 * there as a replay.
 */
export async function evaluate(
  env: ArmEnv,
  prior: ResolvedPrior,
  options: Pick<RoundOptions, 'episodes' | 'onEpisode'> & { replaysDir?: string | undefined },
): Promise<ControllerEvaluation> {
  const controller = createPriorController(env, prior);
  const recorder = options.replaysDir
    ? new ReplayRecorder(env, { actor: priorActorName(prior.task, prior.version), dir: options.replaysDir })
    : undefined;
  try {
    return await evaluateController(
      env,
      controller,
      evaluationSeeds(options.episodes),
      (done) => options.onEpisode?.(prior.label, done, options.episodes),
      recorder,
    );
  } finally {
    controller.dispose();
  }
}

/** Where a round's evaluation of `version` records its replays, unless they are turned off. */
function replaysDirOf(options: RoundOptions, version: number | 'bundled'): string | undefined {
  return options.replays === false ? undefined : options.store.replaysDir(options.task, version);
}

/** The messages that produced a prior, ending with its reply: where a feedback round continues. */
function conversationOf(store: PriorStore, prior: ResolvedPrior, initial: ChatMessage[]): ChatMessage[] {
  if (prior.version === 'bundled') {
    return [...initial, { role: 'assistant', content: bundledReply(prior.task) }];
  }
  const conversation = join(store.root, prior.task, `v${prior.version}`, CONVERSATION_FILE);
  if (existsSync(conversation)) {
    return JSON.parse(
      readInputText(conversation, { maxBytes: INPUT_LIMITS.record, what: 'the conversation' }),
    ) as ChatMessage[];
  }
  const stored = store.read(prior.task, prior.version);
  const request = stored.request as { params?: { messages?: ChatMessage[] } } | null;
  const messages = request?.params?.messages ?? initial;
  return [...messages, { role: 'assistant', content: stored.reply }];
}

function storeGenerated(
  options: RoundOptions,
  generated: Awaited<ReturnType<typeof generateController>>,
  origin: { feedback: string | null; parent: number | null },
): number {
  // Every exchange, failed attempts included, so `--llm replay` can reproduce the round offline.
  const exchanges: RecordedExchange[] = generated.attempts.map((a) => ({
    request: a.reply.request,
    reply: { text: a.reply.text, model: a.reply.model, finishReason: a.reply.finishReason },
  }));
  const version = options.store.create(options.task, {
    code: generated.code,
    reply: generated.reply.text,
    request: generated.request,
    feedback: origin.feedback,
    parent: origin.parent,
    source: 'llm',
    model: generated.reply.model,
    attempts: generated.attempts.length,
    files: {
      [EXCHANGES_FILE]: `${JSON.stringify(exchanges, null, 2)}\n`,
      // The conversation without failed attempts and their corrections: where the next
      // feedback round continues.
      [CONVERSATION_FILE]: `${JSON.stringify(generated.messages, null, 2)}\n`,
    },
  });
  return version;
}

async function withEnv<T>(
  options: Pick<RoundOptions, 'task' | 'robot'>,
  body: (env: ArmEnv) => Promise<T>,
): Promise<T> {
  const env = await ArmEnv.create({ task: options.task, robot: options.robot });
  try {
    return await body(env);
  } finally {
    env.close();
  }
}
