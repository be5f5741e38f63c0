import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { resolvePrior } from '../../controllers/priors.js';
import { loadYamlConfig } from '../../core/config-file.js';
import { BadInputError, ConfigError } from '../../core/errors.js';
import { checkOutputDir } from '../../core/output-path.js';
import { runExperiment } from '../../rl/experiment/experiment.js';
import { HELD_OUT_SEED } from '../../rl/experiment/held-out.js';
import { EXPERIMENT_METHODS, type ExperimentMethod } from '../../rl/experiment/methods.js';
import { RLINGUA_PRESET_STEPS } from '../../rl/train/presets.js';
import { integerOption, rateOption } from '../options.js';
import { canonicalTask, openStore } from '../prior-support.js';
import { createProgress, type Progress } from '../progress.js';
import { listenForStop } from '../stop-request.js';
import { trainStatus } from '../train-status.js';
import { addQueueOptions, printStatus, type QueueOptions, submitToQueue } from './experiment-queue.js';

/** Environment steps per run when neither --steps nor the config's totalSteps says: the rlingua preset's. */
const DEFAULT_EXPERIMENT_STEPS = RLINGUA_PRESET_STEPS;
/** The RL baselines' budget against RLingua's when --baseline-steps does not say (issue #19: ≥ 3×). */
const BASELINE_BUDGET_FACTOR = 3;

function methodList(value: string): ExperimentMethod[] {
  const methods = value
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  for (const m of methods) {
    if (!(EXPERIMENT_METHODS as readonly string[]).includes(m)) {
      throw new InvalidArgumentError(`unknown method '${m}'; known: ${EXPERIMENT_METHODS.join(', ')}`);
    }
  }
  return methods as ExperimentMethod[];
}

interface ExperimentOptions extends QueueOptions {
  tasks?: string;
  algos: ExperimentMethod[];
  seeds: number;
  steps?: number;
  baselineSteps?: number;
  heldOut: number;
  heldOutSeed: number;
  config?: string;
  out: string;
  runs: string;
  robot: string;
  prior?: string;
  priors?: string;
  threshold: number;
}

/** `armprior experiment`: the paper's comparison on our tasks, a table and curves. */
export function registerExperimentCommand(program: Command): void {
  const experiment = program.command('experiment');
  addQueueOptions(
    experiment,
    'queue the runs as jobs for `armprior worker`s on this Redis instead of training them here, and return',
  )
    .option('--wait', 'with --queue: follow the queued experiment to its end and print its table')
    .addHelpText('after', '\nQueued experiments: armprior experiment status <id> --queue <url>');
  addQueueOptions(
    experiment
      .command('status <id>')
      .description(
        "the state of a queued experiment's runs: waiting, training on which worker, done, failed (and why)",
      )
      .option('--wait', 'follow it to its end and print its table'),
    'the queue it was submitted to',
  ).action(async (id: string, _options: QueueOptions, command: Command) =>
    // The parent's --queue and --prefix take the values when given after `status` too.
    printStatus(id, command.optsWithGlobals<QueueOptions>()),
  );
  experiment
    .description(
      'compare the prior, behaviour cloning, TD3, SAC, RLingua and its ablations over seeds: a markdown table (held-out scores, paired against the prior) and success curves (SVG)',
    )
    // Not a requiredOption: Commander checks those of a parent before `experiment status` too.
    .option('--tasks <list>', 'comma-separated tasks, e.g. push,pick-and-place (required)')
    .option(
      '--algos <list>',
      `comma-separated methods: ${EXPERIMENT_METHODS.join(', ')}`,
      methodList,
      methodList('prior,td3,rlingua'),
    )
    .option('--seeds <n>', 'seeds per method (0 … n−1)', integerOption(1, 100), 3)
    .option(
      '--steps <n>',
      `environment steps per run of rlingua, its ablations and bc (default: totalSteps of --config, else the preset's ${DEFAULT_EXPERIMENT_STEPS}; wins over it)`,
      integerOption(100, 1_000_000_000),
    )
    .option(
      '--baseline-steps <n>',
      `environment steps per run of td3 and sac (default: ${BASELINE_BUDGET_FACTOR} × --steps)`,
      integerOption(100, 1_000_000_000),
    )
    .option(
      '--held-out <n>',
      'episodes each final policy and the prior are scored on after training, paired (0: none)',
      integerOption(0, 100_000),
      300,
    )
    .option(
      '--held-out-seed <seed>',
      'held-out episode k is reset with this + k (training evaluates on 1000000 + k)',
      integerOption(0, 2 ** 31 - 1),
      HELD_OUT_SEED,
    )
    .option('--config <file>', 'training config fields applied to every run (no algo: --algos picks those)')
    .option(
      '--out <dir>',
      'where the table, the curves and runs.json go (the list of runs: the same command again reuses the finished ones and continues a stopped one)',
      'experiments',
    )
    .option('--runs <dir>', 'where the run folders go', 'runs')
    .option('-r, --robot <name|file>', 'robot', 'panda')
    .option('--prior <version>', 'prior version for rlingua and the prior row (default: the active one)')
    .option('--priors <dir>', 'the controller store (default ./priors)')
    .option('--threshold <rate>', 'success rate counted as solved', rateOption, 0.9)
    .action(async (options: ExperimentOptions) => {
      if (options.tasks === undefined) {
        throw new BadInputError(
          "required option '--tasks <list>' not specified; see armprior experiment --help",
        );
      }
      const tasks = options.tasks.split(',').map((t) => canonicalTask(t.trim()));
      // Before hours of training: the table and the runs must have somewhere to go.
      checkOutputDir(resolve(options.out));
      checkOutputDir(resolve(options.runs));
      const overrides = options.config
        ? (structuredClone(loadYamlConfig(options.config, z.record(z.string(), z.unknown()))) as Record<
            string,
            unknown
          >)
        : {};
      // --algos picks each run's preset; a file naming one would be silently replaced (issue #17 §4).
      if (overrides.algo !== undefined) {
        throw new ConfigError(options.config ?? '--config', [
          `algo: the methods come from --algos (${options.algos.join(',')}); remove algo from the file`,
        ]);
      }
      const fileSteps = overrides.totalSteps;
      if (options.steps !== undefined && fileSteps !== undefined && fileSteps !== options.steps) {
        process.stderr.write(
          `armprior: --steps ${options.steps} wins over totalSteps: ${JSON.stringify(fileSteps)} of ${options.config}\n`,
        );
      }
      if (fileSteps !== undefined && typeof fileSteps !== 'number') {
        throw new ConfigError(options.config ?? '--config', [
          `totalSteps: expected a number, got ${JSON.stringify(fileSteps)}`,
        ]);
      }
      const steps = options.steps ?? fileSteps ?? DEFAULT_EXPERIMENT_STEPS;
      const store = openStore(options.priors);
      if (options.queue !== undefined) {
        await submitToQueue(
          {
            tasks,
            methods: options.algos,
            seeds: options.seeds,
            steps,
            baselineSteps: options.baselineSteps ?? BASELINE_BUDGET_FACTOR * steps,
            overrides,
            robot: options.robot,
            runsRoot: resolve(options.runs),
            outDir: resolve(options.out),
            priors: Object.fromEntries(tasks.map((task) => [task, resolvePrior(store, task, options.prior)])),
            threshold: options.threshold,
            heldOut: { episodes: options.heldOut, seed: options.heldOutSeed },
          },
          options,
        );
        return;
      }
      if (options.wait) throw new BadInputError('--wait follows a queued experiment: give --queue too');
      let progress: Progress | undefined;
      let runLabel = '';
      const stop = listenForStop(
        'stopping this run after its round and saving a checkpoint; the same command continues the experiment',
      );
      const result = await runExperiment({
        tasks,
        methods: options.algos,
        seeds: options.seeds,
        steps,
        baselineSteps: options.baselineSteps ?? BASELINE_BUDGET_FACTOR * steps,
        heldOutEpisodes: options.heldOut,
        heldOutSeed: options.heldOutSeed,
        overrides,
        robot: options.robot,
        runsRoot: resolve(options.runs),
        outDir: resolve(options.out),
        priorFor: (task) => resolvePrior(store, task, options.prior),
        threshold: options.threshold,
        onRunStart: (label, index, total) => {
          progress?.stop();
          progress = undefined;
          process.stderr.write(`run ${index}/${total}: ${label}\n`);
          runLabel = label;
        },
        onProgress: (p) => {
          // The bar is made at the run's first report: the baselines' budget is not --steps.
          progress ??= createProgress(runLabel, p.totalSteps);
          progress.update(p.envSteps, trainStatus(p));
        },
        onHeldOut: (label, done, total) => {
          if (done === 1) {
            progress?.stop();
            progress = createProgress(`${label}: held-out episodes`, total);
          }
          progress?.update(done, '');
        },
        shouldStop: stop.requested,
        onNotice: (message) => {
          progress?.stop();
          progress = undefined;
          process.stderr.write(`armprior: ${message}\n`);
        },
      }).finally(stop.dispose);
      progress?.stop();
      if (result.stopped) {
        const { runsDone, runsTotal } = result.stopped;
        process.stdout.write(
          `\nstopped on request: ${runsDone} of ${runsTotal} runs done, run ${runsDone + 1} checkpointed (${join(resolve(options.out), 'runs.json')} lists them); run the same command again to continue\n`,
        );
        return;
      }
      process.stdout.write(
        `\n${readFileSync(result.tableFile, 'utf8')}\ntable   ${result.tableFile}\ncurves  ${result.curveFiles.join('\n        ')}\nraw     ${result.jsonFile}\n`,
      );
    });
}
