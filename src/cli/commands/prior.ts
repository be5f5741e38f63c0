import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createTwoFilesPatch } from 'diff';
import { addRound, evaluationRecord } from '../../controllers/prior-rounds.js';
import { bundledReply, parseVersion, resolvePrior } from '../../controllers/priors.js';
import type { PriorStore } from '../../controllers/store.js';
import { BadInputError } from '../../core/errors.js';
import { INPUT_LIMITS, readInputText } from '../../core/input-file.js';
import { checkOutputDir } from '../../core/output-path.js';
import { ControllerCodeError } from '../../prompts/errors.js';
import { integerOption } from '../options.js';
import { canonicalTask, evaluatePrior, openStore, openStoreForWriting } from '../prior-support.js';
import { createProgress } from '../progress.js';
import { registerPriorLlmCommands } from './prior-llm.js';

interface StoreOptions {
  task: string;
  priors?: string;
}

/** `armprior prior …`: browse, compare, pin and evaluate prior controller versions. */
export function registerPriorCommand(program: Command): void {
  const prior = program
    .command('prior')
    .description('prior controllers: generate with an LLM, give feedback, browse and pin versions');
  registerPriorLlmCommands(prior);
  const withStore = (cmd: Command) =>
    cmd
      .requiredOption('-t, --task <name>', 'task (see `armprior tasks`)')
      .option('--priors <dir>', 'the controller store (default ./priors)');
  registerPriorAdd(prior, withStore);

  withStore(prior.command('list').description("list a task's prior versions (and the bundled one)")).action(
    (options: StoreOptions) => {
      const task = canonicalTask(options.task);
      const store = openStore(options.priors);
      const active = store.active(task);
      const lines = [`${active === undefined ? '*' : ' '} bundled  the prior shipped with armprior`];
      for (const version of store.versions(task)) {
        const p = store.read(task, version);
        const evaluation = p.evaluation as { successRate?: number; episodes?: number } | null;
        const success =
          evaluation?.successRate === undefined
            ? 'not evaluated'
            : `success ${(100 * evaluation.successRate).toFixed(0)}% of ${evaluation.episodes}`;
        const origin =
          p.meta.source === 'person'
            ? `written by hand${p.meta.parent ? ` from v${p.meta.parent}` : ''}`
            : p.meta.parent
              ? `from v${p.meta.parent} with feedback`
              : p.meta.source;
        lines.push(
          `${active === version ? '*' : ' '} v${version}       ${success}, ${origin}, ${p.meta.model ?? ''} ${p.meta.createdAt}`,
        );
      }
      process.stdout.write(`${task} priors in ${store.root} (* = active)\n${lines.join('\n')}\n`);
    },
  );

  withStore(prior.command('show').description('show a version: code, feedback, evaluation'))
    .option('--version <v>', 'vN or bundled (default: the active one)')
    .option('--code', 'print only the code')
    .action((options: StoreOptions & { version?: string; code?: boolean }) => {
      const task = canonicalTask(options.task);
      const store = openStore(options.priors);
      const resolved = resolvePrior(store, task, options.version);
      if (options.code) {
        process.stdout.write(`${resolved.code.trimEnd()}\n`);
        return;
      }
      const out: string[] = [`# ${resolved.label}`];
      if (resolved.version === 'bundled') {
        out.push('', bundledReply(task).trim());
      } else {
        const p = store.read(task, resolved.version);
        out.push(
          `source ${p.meta.source}, model ${p.meta.model ?? '-'}, created ${p.meta.createdAt}, ${p.meta.attempts} LLM call(s)`,
        );
        if (p.meta.parent)
          out.push(`generated from v${p.meta.parent} with this feedback:`, `  ${(p.feedback ?? '').trim()}`);
        const evaluation = p.evaluation as { summary?: string } | null;
        out.push('', '## evaluation', evaluation?.summary ?? 'not evaluated yet (armprior prior eval)');
        out.push('', '## code', resolved.code.trimEnd());
      }
      process.stdout.write(`${out.join('\n')}\n`);
    });

  withStore(prior.command('diff').description('unified diff of the code of two versions'))
    .argument('<from>', 'vN or bundled')
    .argument('[to]', 'vN or bundled (default: the active one)')
    .action((from: string, to: string | undefined, options: StoreOptions) => {
      const task = canonicalTask(options.task);
      const store = openStore(options.priors);
      const a = resolvePrior(store, task, from);
      const b = resolvePrior(store, task, to);
      process.stdout.write(createTwoFilesPatch(a.label, b.label, a.code, b.code, '', '', { context: 3 }));
    });

  withStore(prior.command('use').description('pin the version that `prior` means for a task'))
    .argument('<version>', 'vN')
    .action((version: string, options: StoreOptions) => {
      const task = canonicalTask(options.task);
      const store = openStoreForWriting(options.priors);
      const parsed = parseVersion(version);
      if (parsed === 'bundled') {
        throw new BadInputError(
          'the bundled prior is used when the store has no version; pin a stored version (vN)',
        );
      }
      store.setActive(task, parsed);
      process.stdout.write(`${task}: prior is now v${parsed}\n`);
    });

  withStore(prior.command('eval').description('evaluate a version on the fixed seed set and save the result'))
    .option('--version <v>', 'vN or bundled (default: the active one)')
    .option('-n, --episodes <n>', 'episodes', integerOption(1, 10_000), 20)
    .option('--json', 'print JSON')
    .option(
      '--no-replays',
      'do not save the episodes as replays (default: <priors>/<task>/<version>/replays/)',
    )
    .action(
      async (
        options: StoreOptions & { version?: string; episodes: number; json?: boolean; replays: boolean },
      ) => {
        const task = canonicalTask(options.task);
        const store = openStore(options.priors);
        const resolved = resolvePrior(store, task, options.version);
        // It saves the evaluation of a stored version, and replays: refuse an unwritable store first.
        if (options.replays || resolved.version !== 'bundled') checkOutputDir(store.root);
        const replaysDir = options.replays ? store.replaysDir(task, resolved.version) : undefined;
        const evaluation = await evaluatePrior(resolved, options.episodes, {
          quiet: options.json === true,
          replaysDir,
        });
        saveIfStored(store, resolved.version, task, evaluationRecord(evaluation));
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ prior: resolved.label, ...evaluationRecord(evaluation) }, null, 2)}\n`,
          );
        } else {
          process.stdout.write(`${resolved.label} on ${options.episodes} episodes\n${evaluation.summary}\n`);
          if (replaysDir) process.stdout.write(`replays in ${replaysDir}\n`);
        }
      },
    );
}

/**
 * `prior add <file>`: a module a person wrote or edited becomes the next version, checked,
 * stored with its parent and note, and evaluated (what `prior feedback` does with the LLM's code).
 */
function registerPriorAdd(prior: Command, withStore: (cmd: Command) => Command): void {
  withStore(
    prior
      .command('add')
      .description('store a controller module you wrote or edited as a new version, and evaluate it'),
  )
    .argument('<file>', 'the module (.js, .mjs or .ts) exporting act(obs, ctx)')
    .option('--from <version>', 'the version it edits (default: the active one)')
    .option('--note <text>', 'what you changed and why (kept as the version’s feedback)')
    .option('-n, --episodes <n>', 'evaluation episodes (fixed seeds)', integerOption(1, 10_000), 20)
    .option('-r, --robot <name|file>', 'robot for the evaluation', 'panda')
    .option('--no-replays', 'do not save evaluation episodes as replays (default: in the version folder)')
    .action(
      async (
        file: string,
        options: StoreOptions & {
          from?: string;
          note?: string;
          episodes: number;
          robot: string;
          replays: boolean;
        },
      ) => {
        const task = canonicalTask(options.task);
        const store = openStoreForWriting(options.priors);
        const source = readModule(file);
        const progress = createProgress(`evaluating ${file}`, options.episodes);
        const result = await addRound({
          store,
          task,
          source,
          language: /\.tsx?$/.test(file) ? 'typescript' : 'javascript',
          origin: resolve(file),
          episodes: options.episodes,
          robot: options.robot,
          replays: options.replays,
          onEpisode: (_, done) => progress.update(done),
          ...(options.from ? { from: options.from } : {}),
          ...(options.note ? { note: options.note } : {}),
        }).catch((error: unknown) => {
          progress.stop();
          if (error instanceof ControllerCodeError) {
            throw new ControllerCodeError(
              error.kind,
              `${file} cannot be used as a controller: ${error.message}`,
              {
                ...(error.line === undefined ? {} : { line: error.line }),
              },
            );
          }
          throw error;
        });
        progress.stop();
        process.stdout.write(
          `\n${task} v${result.version} stored from ${file}\n${result.evaluation.summary}\n`,
        );
      },
    );
}

/** The module `prior add` stores: a regular file of at most {@link INPUT_LIMITS}.code bytes. */
function readModule(file: string): string {
  return readInputText(file, { maxBytes: INPUT_LIMITS.code, what: 'the controller module' });
}

function saveIfStored(store: PriorStore, version: number | 'bundled', task: string, record: unknown): void {
  if (version !== 'bundled') store.saveEvaluation(task, version, record);
}
