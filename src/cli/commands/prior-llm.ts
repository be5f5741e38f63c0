import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import {
  feedbackRound,
  generateRound,
  type RoundOptions,
  type RoundResult,
} from '../../controllers/prior-rounds.js';
import { resolvePrior } from '../../controllers/priors.js';
import { recordedLlmClientFor } from '../../controllers/recorded-exchanges.js';
import type { PriorStore } from '../../controllers/store.js';
import { BadInputError } from '../../core/errors.js';
import type { ChatCompleter } from '../../prompts/chat.js';
import { createLlmClient } from '../../prompts/llm-client.js';
import { integerOption } from '../options.js';
import { canonicalTask, evaluatePrior, openStoreForWriting } from '../prior-support.js';
import { createProgress, type Progress } from '../progress.js';

interface LlmOptions {
  task: string;
  priors?: string;
  llm?: string;
  llmConfig?: string;
  episodes: number;
  maxAttempts: number;
  robot?: string;
  /** `--no-replays` sets it false. */
  replays: boolean;
}

/**
 * The options of a command that runs LLM rounds (`prior generate|feedback|edit`, `view`): where
 * the LLM is, and how a new version is evaluated.
 */
export function withLlmOptions(cmd: Command): Command {
  return cmd
    .option(
      '--llm <source>',
      '`endpoint` (config/llm.yaml, OPENAI_BASE_URL, OPENAI_API_KEY) or `replay` (recorded replies only)',
      'endpoint',
    )
    .option('--llm-config <file>', 'LLM config file (default config/llm.yaml)')
    .option('-n, --episodes <n>', 'evaluation episodes (fixed seeds)', integerOption(1, 10_000), 20)
    .option('--max-attempts <n>', 'replies to try when one has no usable code', integerOption(1, 10), 3)
    .option('-r, --robot <name|file>', 'robot for the evaluation', 'panda');
}

/** `prior generate`, `prior feedback`, `prior edit`: the LLM and human-feedback side. */
export function registerPriorLlmCommands(prior: Command): void {
  const withLlm = (cmd: Command) =>
    withLlmOptions(
      cmd
        .requiredOption('-t, --task <name>', 'task (see `armprior tasks`)')
        .option('--priors <dir>', 'the controller store (default ./priors)'),
    ).option('--no-replays', 'do not save evaluation episodes as replays (default: in the version folder)');

  withLlm(
    prior
      .command('generate')
      .description('ask the LLM for a controller, store it as a new version, evaluate it'),
  ).action(async (options: LlmOptions) => {
    const task = canonicalTask(options.task);
    const store = openStoreForWriting(options.priors);
    const result = await withProgress((hooks) =>
      generateRound({ ...roundOptions(options, task, store), ...hooks }),
    );
    report(task, result);
  });

  withLlm(
    prior
      .command('feedback')
      .description('one feedback round: your words and the rollout summary → a new version'),
  )
    .argument('<feedback>', 'what you saw and what should change, in your words')
    .option('--from <version>', 'the version the feedback is about (default: the active one)')
    .action(async (feedback: string, options: LlmOptions & { from?: string }) => {
      const task = canonicalTask(options.task);
      const store = openStoreForWriting(options.priors);
      const result = await withProgress((hooks) =>
        feedbackRound({
          ...roundOptions(options, task, store),
          ...hooks,
          feedback,
          ...(options.from ? { from: options.from } : {}),
        }),
      );
      report(task, result);
    });

  withLlm(
    prior
      .command('edit')
      .description('interactive: evaluate, read the summary, give feedback, repeat until you accept'),
  ).action(async (options: LlmOptions) => {
    const task = canonicalTask(options.task);
    const store = openStoreForWriting(options.priors);
    const rl = createInterface({ input: process.stdin, terminal: false });
    const lines = rl[Symbol.asyncIterator]();
    try {
      let current = store.active(task);
      if (current === undefined) {
        // Nothing stored yet: the LLM writes a first version (RLingua starts from its answer).
        process.stderr.write(`No ${task} prior stored yet: asking the LLM for a first version.\n`);
        const first = await withProgress((hooks) =>
          generateRound({ ...roundOptions(options, task, store), ...hooks }),
        );
        report(task, first);
        current = first.version;
      } else {
        process.stderr.write(`Editing the ${task} prior, starting from v${current}.\n`);
        const evaluation = await evaluatePrior(resolvePrior(store, task, `v${current}`), options.episodes, {
          robot: options.robot,
          replaysDir: options.replays ? store.replaysDir(task, current) : undefined,
        });
        process.stdout.write(`${task} v${current}\n${evaluation.summary}\n`);
      }
      for (;;) {
        process.stderr.write('Feedback for a new version (Enter: accept and pin the current one; q: quit): ');
        // Lines are read through the iterator, not rl.question(): with piped input, lines that
        // arrive while no question is pending would be lost.
        const next = await lines.next();
        const answer = next.done ? 'q' : next.value.trim();
        if (answer === 'q' || answer === 'quit') {
          process.stdout.write(`Stopped; the active ${task} prior is unchanged.\n`);
          return;
        }
        if (answer === '') {
          store.setActive(task, current);
          process.stdout.write(`Accepted: the ${task} prior is v${current}.\n`);
          return;
        }
        const result = await withProgress((hooks) =>
          feedbackRound({
            ...roundOptions(options, task, store),
            ...hooks,
            feedback: answer,
            from: `v${current}`,
          }),
        );
        report(task, result);
        current = result.version;
      }
    } finally {
      rl.close();
    }
  });
}

function roundOptions(options: LlmOptions, task: string, store: PriorStore): RoundOptions {
  return {
    store,
    client: chooseClient(options, store, task),
    task,
    episodes: options.episodes,
    robot: options.robot,
    maxAttempts: options.maxAttempts,
    stream: process.stderr.isTTY === true,
    replays: options.replays,
  };
}

/** The LLM client `--llm` and `--llm-config` name (shared with `armprior view`). */
export function chooseClient(
  options: Pick<LlmOptions, 'llm' | 'llmConfig'>,
  store: PriorStore,
  task: string,
): ChatCompleter {
  if (options.llm === 'replay') return recordedLlmClientFor(store, task);
  if (options.llm !== undefined && options.llm !== 'endpoint') {
    throw new BadInputError(`--llm must be 'endpoint' or 'replay', got '${options.llm}'`);
  }
  return createLlmClient(options.llmConfig ? { file: options.llmConfig } : {});
}

/** Progress for the two slow parts: the LLM's reply (characters) and the evaluation (episodes). */
async function withProgress(
  run: (hooks: Pick<RoundOptions, 'onProgress' | 'onEpisode'>) => Promise<RoundResult>,
): Promise<RoundResult> {
  let bar: Progress | undefined;
  let barLabel = '';
  const result = await run({
    onProgress: (chars) => {
      if (process.stderr.isTTY) process.stderr.write(`\rLLM reply: ${chars} characters`);
    },
    onEpisode: (label, done, total) => {
      if (barLabel !== label) {
        bar?.stop();
        bar = createProgress(`evaluating ${label}`, total);
        barLabel = label;
      }
      bar?.update(done);
    },
  });
  bar?.stop();
  return result;
}

function report(task: string, result: RoundResult): void {
  const rate = (successRate: number) => `${(100 * successRate).toFixed(0)}%`;
  const lines = [`\n${task} v${result.version} stored (${result.attempts} LLM call(s))`];
  if (result.parent) {
    const base = result.parent.evaluation;
    lines.push(
      `success ${rate(base.successRate)} (${result.parent.prior.label}${base.saved ? ', as saved' : ''}) → ${rate(result.evaluation.stats.successRate)} (v${result.version})`,
    );
  }
  lines.push(result.evaluation.summary);
  process.stdout.write(`${lines.join('\n')}\n`);
}
