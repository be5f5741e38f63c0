import { ArmEnv } from '../../sim/env.js';
import { observationLayout } from '../contract/controller-contract.js';
import { boundText } from '../core/bounded-text.js';
import { appendSceneReplays } from '../episodes/scene/scene-replay-files.js';
import { priorActorName, SceneReplaySink } from '../episodes/scene/scene-replay-sink.js';
import type { ChatCompleter, ChatMessage } from '../prompts/chat.js';
import { checkControllerSource } from '../prompts/extract.js';
import { generateController } from '../prompts/generate.js';
import { initialMessages } from '../prompts/messages.js';
import type { RecordedExchange } from '../prompts/recorded-llm-client.js';
import { type ControllerEvaluation, evaluateController, evaluationSeeds } from './evaluate.js';
import { bundledReply, createPriorController, type ResolvedPrior, resolvePrior } from './priors.js';
import { EXCHANGES_FILE } from './recorded-exchanges.js';
import type { NewPrior, PriorStore } from './store.js';

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
  parent?: { prior: ResolvedPrior; evaluation: BaseEvaluation };
  attempts: number;
}

/** What a feedback round knew of the version it started from. */
export interface BaseEvaluation {
  successRate: number;
  episodes: number;
  /** The rollout summary sent to the LLM (bounded: it holds controller output). */
  summary: string;
  /** Read from the version's evaluation.json (on the round's seeds), not run again. */
  saved: boolean;
}

/**
 * Asks the LLM for a first controller and stores it as a new version, evaluated: the version
 * exists only once its evaluation is saved.
 */
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
    const stored = await storeEvaluated(
      options,
      env,
      generatedPrior(generated, { feedback: null, parent: null }),
    );
    return { ...stored, attempts: generated.attempts.length };
  });
}

/**
 * One round of human feedback (RLingua §III-B): the conversation that produced the base version
 * (or the bundled prior's), the person's feedback and the automatic rollout summary of the base
 * go to the LLM; its new controller becomes the next version, evaluated on the same seeds.
 *
 * The base's summary is its saved evaluation when that was made on the round's seeds; otherwise
 * the base is evaluated now, and that evaluation (its replays, and its evaluation.json if it had
 * none) is kept only if the round succeeds. A round that fails (LLM error or hang, no usable
 * code, a full disk, a kill) changes nothing in the store (issue #17).
 */
export async function feedbackRound(
  options: RoundOptions & { feedback: string; from?: string },
): Promise<RoundResult> {
  return withEnv(options, async (env) => {
    const layout = observationLayout(env.observationFields, env.task.goalFields, env.actionSize);
    const base = resolvePrior(options.store, options.task, options.from);
    const history = conversationOf(options.store, base, initialMessages(env.task, layout));
    const seeds = evaluationSeeds(options.episodes);
    const saved =
      base.version === 'bundled'
        ? undefined
        : savedEvaluation(options.store, options.task, base.version, seeds);
    // Evaluated now, its replays go aside until the round has succeeded.
    const pending =
      saved || options.replays === false ? undefined : options.store.pendingReplays(options.task);
    try {
      let fresh: ControllerEvaluation | undefined;
      let baseEvaluation: BaseEvaluation;
      if (saved) {
        baseEvaluation = saved;
      } else {
        fresh = await evaluate(env, base, { ...options, replaysDir: pending?.dir });
        const { successRate, episodes } = fresh.stats;
        baseEvaluation = { successRate, episodes, summary: fresh.summary, saved: false };
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
      const keepBaseEvaluation = async () => {
        if (pending !== undefined)
          await appendSceneReplays(pending.dir, options.store.replaysDir(options.task, base.version));
        if (
          fresh &&
          base.version !== 'bundled' &&
          options.store.read(options.task, base.version).evaluation === null
        )
          options.store.saveEvaluation(options.task, base.version, evaluationRecord(fresh));
      };
      const stored = await storeEvaluated(
        options,
        env,
        generatedPrior(generated, {
          feedback: options.feedback,
          parent: base.version === 'bundled' ? null : base.version,
        }),
        keepBaseEvaluation,
      );
      return {
        ...stored,
        parent: { prior: base, evaluation: baseEvaluation },
        attempts: generated.attempts.length,
      };
    } catch (error) {
      pending?.discard();
      throw error;
    }
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
    const stored = await storeEvaluated(options, env, {
      code: checked.code,
      reply: `\`\`\`${fence}\n${checked.source.trimEnd()}\n\`\`\`\n`,
      request: { source: 'person', file: options.origin },
      feedback: options.note ?? null,
      parent: base.version === 'bundled' ? null : base.version,
      source: 'person',
      attempts: 0,
    });
    return { ...stored, attempts: 0 };
  });
}

/**
 * Stages `prior` as the next version, evaluates it in its staging folder (replays there too)
 * and publishes it with its evaluation saved: only then is it counted, and active unless another
 * version is pinned (issue #17). An error during the evaluation discards it; a kill leaves only
 * a staging folder, which no reader counts. `beforePublish` runs once the evaluation is in.
 */
async function storeEvaluated(
  options: Pick<RoundOptions, 'store' | 'task' | 'episodes' | 'onEpisode' | 'replays'>,
  env: ArmEnv,
  prior: NewPrior,
  beforePublish?: () => Promise<void>,
): Promise<{ version: number; evaluation: ControllerEvaluation }> {
  const { store, task } = options;
  const staged = store.stage(task, prior);
  try {
    const evaluation = await evaluate(
      env,
      { task, version: staged.version, code: prior.code, label: `${task} v${staged.version}` },
      { ...options, replaysDir: options.replays === false ? undefined : staged.replaysDir },
    );
    store.saveStagedEvaluation(staged, evaluationRecord(evaluation));
    // Once nothing but the rename can fail, the round keeps its other results (the base's replays).
    await beforePublish?.();
    store.publish(staged);
    return { version: staged.version, evaluation };
  } catch (error) {
    store.discard(staged);
    throw error;
  }
}

/**
 * A version's saved evaluation as a feedback round's base evaluation, when it was made on
 * exactly `seeds` (same episodes as the round); undefined otherwise. Its summary comes bounded
 * from the store.
 */
function savedEvaluation(
  store: PriorStore,
  task: string,
  version: number,
  seeds: readonly number[],
): BaseEvaluation | undefined {
  const record = store.read(task, version).evaluation as Record<string, unknown> | null;
  if (record === null || typeof record !== 'object') return undefined;
  const { successRate, episodes, summary } = record;
  const recordSeeds = record.seeds;
  if (
    typeof successRate !== 'number' ||
    typeof episodes !== 'number' ||
    typeof summary !== 'string' ||
    !Array.isArray(recordSeeds) ||
    recordSeeds.length !== seeds.length ||
    recordSeeds.some((seed, i) => seed !== seeds[i])
  )
    return undefined;
  return { successRate, episodes, summary, saved: true };
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
  const controller = await createPriorController(env, prior);
  const recorder = options.replaysDir
    ? new SceneReplaySink(env, { actor: priorActorName(prior.task, prior.version), dir: options.replaysDir })
    : undefined;
  try {
    return boundEvaluation(
      await evaluateController(
        env,
        controller,
        evaluationSeeds(options.episodes),
        (done) => options.onEpisode?.(prior.label, done, options.episodes),
        recorder,
      ),
    );
  } finally {
    controller.dispose();
  }
}

/**
 * An evaluation with its controller-made text bounded (the summary quotes failure messages, an
 * abort reason is one): what goes into evaluation.json, the terminal and the next prompt.
 * Defence in depth beside the sandbox's own bound (issue #17: an 8 MB `throw` made a 25 MB prompt).
 */
function boundEvaluation(evaluation: ControllerEvaluation): ControllerEvaluation {
  return {
    ...evaluation,
    summary: boundText(evaluation.summary),
    episodes: evaluation.episodes.map((e) =>
      e.abortReason === undefined ? e : { ...e, abortReason: boundText(e.abortReason) },
    ),
  };
}

/**
 * The messages that produced a prior, ending with its reply: where a feedback round continues.
 * Read from the store, its user messages are bounded line by line: they quote earlier rollout
 * summaries, and one stored before those were bounded must not make every later prompt huge.
 */
function conversationOf(store: PriorStore, prior: ResolvedPrior, initial: ChatMessage[]): ChatMessage[] {
  if (prior.version === 'bundled') {
    return [...initial, { role: 'assistant', content: bundledReply(prior.task) }];
  }
  const conversation = store.readFile(prior.task, prior.version, CONVERSATION_FILE);
  let messages: ChatMessage[];
  if (conversation !== null) {
    messages = JSON.parse(conversation) as ChatMessage[];
  } else {
    const stored = store.read(prior.task, prior.version);
    const request = stored.request as { params?: { messages?: ChatMessage[] } } | null;
    messages = [...(request?.params?.messages ?? initial), { role: 'assistant', content: stored.reply }];
  }
  return messages.map((m) =>
    m.role === 'user' ? { ...m, content: boundText(m.content, MAX_STORED_PROMPT_CHARS) } : m,
  );
}

/**
 * Characters kept of one stored user message: the first prompt (task, guidelines) is under
 * 10,000, a feedback message quotes the previous code and a summary.
 */
const MAX_STORED_PROMPT_CHARS = 64_000;

/** A generated controller as a new version: its reply, request and every exchange. */
function generatedPrior(
  generated: Awaited<ReturnType<typeof generateController>>,
  origin: { feedback: string | null; parent: number | null },
): NewPrior {
  // Every exchange, failed attempts included, so `--llm replay` can reproduce the round offline.
  const exchanges: RecordedExchange[] = generated.attempts.map((a) => ({
    request: a.reply.request,
    reply: { text: a.reply.text, model: a.reply.model, finishReason: a.reply.finishReason },
  }));
  return {
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
  };
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
