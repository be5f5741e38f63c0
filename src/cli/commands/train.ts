import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { stringify } from 'yaml';
import { z } from 'zod';
import { ArmEnv } from '../../../sim/env.js';
import { resolvePrior } from '../../controllers/priors.js';
import { loadYamlConfig } from '../../core/config-file.js';
import { isDiskFull } from '../../core/disk-full.js';
import { ArmpriorError, ConfigError, messageOf } from '../../core/errors.js';
import { checkOutputDir } from '../../core/output-path.js';
import { readDemonstrations } from '../../episodes/dataset/env-datasets.js';
import type { Episode } from '../../episodes/episode.js';
import {
  newRunDir,
  newRunInfo,
  type RunInfo,
  readRunConfig,
  readRunInfo,
  recordRunFailure,
  runFiles,
  writeRunConfig,
  writeRunInfo,
} from '../../rl/train/run-dir.js';
import { RunLock } from '../../rl/train/run-lock.js';
import {
  ALGOS,
  type Algo,
  deepMerge,
  priorNeeded,
  resolveTrainConfig,
  type TrainConfig,
  withPinnedPrior,
} from '../../rl/train/train-config.js';
import { train } from '../../rl/train/trainer.js';
import { integerOption } from '../options.js';
import { canonicalTask, openStore } from '../prior-support.js';
import { createProgress } from '../progress.js';
import { listenForStop } from '../stop-request.js';
import { trainStatus } from '../train-status.js';

interface TrainOptions {
  task?: string;
  algo?: Algo;
  steps?: number;
  seed: number;
  config?: string;
  resume?: string;
  demos?: string;
  runs: string;
  robot: string;
  prior?: string;
  priors?: string;
  envs?: number;
  json?: boolean;
  printConfig?: boolean;
}

/** `armprior train`: trains a policy (TD3, SAC or RLingua) and writes a run folder. */
export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description(
      'train a policy with TD3, SAC or RLingua (TD3 + the prior); writes runs/<task>__<algo>__<seed>__<time>/',
    )
    .option('-t, --task <name>', 'task (see `armprior tasks`); required unless --resume')
    .addOption(
      new Option(
        '-a, --algo <algo>',
        'algorithm preset (default: algo of --config, else rlingua; a --config naming another is refused)',
      ).choices([...ALGOS]),
    )
    .option(
      '--steps <n>',
      'environment steps to train for (wins over totalSteps of --config)',
      integerOption(1, 1_000_000_000),
    )
    .option('-s, --seed <seed>', 'seed of everything random in the run', integerOption(0, 2 ** 31 - 1), 0)
    .option('--config <file>', 'YAML with training config fields (see --print-config)')
    .option('--resume <run>', 'continue a run folder from its newest good checkpoint')
    .option('--demos <dir>', 'a dataset of demonstration episodes (Parquet) for the demonstration buffer')
    .option('--runs <dir>', 'where new run folders go', 'runs')
    .option('-r, --robot <name|file>', 'robot from config/robots or a robot YAML file', 'panda')
    .option('--prior <version>', 'prior for rlingua: vN, bundled (default: the active one)')
    .option('--priors <dir>', 'the controller store (default ./priors)')
    .option(
      '--envs <n>',
      'parallel envs (worker threads step them while the learner updates; wins over numEnvs of --config)',
      integerOption(1, 64),
    )
    .option('--json', 'print the result as JSON')
    .option(
      '--print-config',
      'print the resolved training config (YAML, every field) and exit: a start for --config',
    )
    .action(async (options: TrainOptions) => {
      if (options.printConfig) {
        const fromFile = options.config ? readConfigFile(options.config) : {};
        const algo = presetOf(options, fromFile);
        const config = resolveTrainConfig(algo, options.config ?? `--algo ${algo}`, fromFile, {
          ...flagOverrides(options, fromFile),
          algo,
        });
        process.stdout.write(stringify(config));
        return;
      }
      const setup = options.resume ? resumeSetup(options) : newRunSetup(options);
      const { info } = setup;
      const prior = priorNeeded(setup.config)
        ? resolvePrior(openStore(options.priors), info.task, options.prior ?? setup.priorSpec)
        : undefined;
      // The run's config.yaml names the version it learns from (not `active`), so `--resume` uses the same.
      const config = prior ? withPinnedPrior(setup.config, prior.version) : setup.config;
      const demos = await loadDemos(options.demos, info.task, info.robot);
      const runDir = setup.createRunDir(config);
      const progress = options.json
        ? undefined
        : createProgress(`training ${info.task} (${config.algo})`, config.totalSteps);
      const stop = listenForStop('stopping after this round and saving a checkpoint');
      try {
        writeRunInfo(runDir, { ...info, status: 'running', updated: new Date().toISOString() });
        const result = await train({
          task: info.task,
          robot: info.robot,
          seed: info.seed,
          config,
          runDir,
          prior,
          demos,
          resume: options.resume !== undefined,
          onResume: (envSteps) => progress?.continueFrom(envSteps),
          onProgress: (p) => progress?.update(p.envSteps, trainStatus(p)),
          onNotice: (message) => process.stderr.write(`armprior: ${message}\n`),
          shouldStop: stop.requested,
        });
        progress?.stop();
        const finished = !result.interrupted;
        writeRunInfo(runDir, {
          ...info,
          status: finished ? 'finished' : 'interrupted',
          updated: new Date().toISOString(),
          envSteps: result.envSteps,
          ...(finished ? {} : { message: 'stopped on request; continue with --resume' }),
        });
        const evaluation = result.lastEvaluation;
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ runDir, ...result }, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `\n${info.task} · ${config.algo} · seed ${info.seed} · ${result.envSteps} env steps${result.resumedFrom !== undefined ? ` (resumed at ${result.resumedFrom})` : ''}${finished ? '' : ' · stopped early'}\n` +
            (evaluation
              ? `  success rate  ${(100 * evaluation.successRate).toFixed(0)}% of ${evaluation.episodes} evaluation episodes (deterministic policy)\n`
              : '') +
            `  run           ${runDir}\n` +
            `  policy        ${runFiles(runDir).policy}${averagedNote(result.policiesAveraged, config.policyAveraging)}\n` +
            (result.best
              ? `  best policy   ${runFiles(runDir).bestPolicy} (${(100 * result.best.successRate).toFixed(0)}% at step ${result.best.step}; check it on other seeds: armprior eval ${runDir} --best -n 100)\n`
              : '') +
            (finished ? '' : `  continue with armprior train --resume ${runDir}\n`),
        );
      } catch (error) {
        progress?.stop();
        // The error that stopped the run is the one reported. A failure to record it is said
        // too, unless it is the same full disk (issue #17: one clear line); the released lock
        // then shows the run as interrupted to readers.
        const unrecorded = recordRunFailure(runDir, info, error);
        if (unrecorded !== undefined && !(isDiskFull(unrecorded) && isDiskFull(error))) {
          process.stderr.write(
            `armprior: run.json does not say why the run stopped: ${messageOf(unrecorded)}\n`,
          );
        }
        throw error;
      } finally {
        stop.dispose();
        // Also released when the process exits, so an input refused before this point frees it too.
        setup.lock()?.release();
      }
    });
}

/** The file's fields, unvalidated: they are checked once merged over the preset, all problems at once. */
function readConfigFile(file: string): Record<string, unknown> {
  return structuredClone(loadYamlConfig(file, z.record(z.string(), z.unknown()))) as Record<string, unknown>;
}

/**
 * The preset of a new run: `--algo`, else the `algo` of the `--config` file, else rlingua. A
 * file naming another preset than `--algo` is refused (issue #17 §4: `--algo td3` silently won
 * over a file's `algo: sac`, and without `--algo` the file's preset was replaced by rlingua).
 */
function presetOf(options: TrainOptions, fromFile: Record<string, unknown>): Algo {
  const inFile = fromFile.algo;
  if (inFile === undefined) return options.algo ?? 'rlingua';
  if (typeof inFile !== 'string' || !(ALGOS as readonly string[]).includes(inFile)) {
    throw new ConfigError(options.config ?? '--config', [
      `algo: expected one of ${ALGOS.join(', ')}, got ${JSON.stringify(inFile)}`,
    ]);
  }
  if (options.algo && options.algo !== inFile) {
    throw new ArmpriorError(
      'usage',
      `--algo ${options.algo} and ${options.config} (algo: ${inFile}) name different presets; drop one of them`,
    );
  }
  return inFile as Algo;
}

/**
 * The values of `--steps` and `--envs`, which win over the file's `totalSteps` and `numEnvs`;
 * when they differ from the file, a notice says so on stderr.
 */
function flagOverrides(
  options: TrainOptions,
  fromFile: Record<string, unknown> = {},
): Record<string, unknown> {
  const notice = (flag: string, value: number, field: string) => {
    if (fromFile[field] !== undefined && fromFile[field] !== value) {
      process.stderr.write(
        `armprior: ${flag} ${value} wins over ${field}: ${JSON.stringify(fromFile[field])} of ${options.config}\n`,
      );
    }
  };
  if (options.steps !== undefined) notice('--steps', options.steps, 'totalSteps');
  if (options.envs !== undefined) notice('--envs', options.envs, 'numEnvs');
  return {
    ...(options.steps !== undefined ? { totalSteps: options.steps } : {}),
    ...(options.envs !== undefined ? { numEnvs: options.envs } : {}),
  };
}

interface Setup {
  /** The run folder, made and locked (new run) or updated (resume) once the inputs have loaded; `config` is written into it. */
  createRunDir: (config: TrainConfig) => string;
  /** The run folder's lock once held (from the start on resume, from createRunDir on a new run). */
  lock: () => RunLock | undefined;
  config: TrainConfig;
  info: RunInfo;
  priorSpec: string | undefined;
}

function newRunSetup(options: TrainOptions): Setup {
  if (!options.task) throw new ArmpriorError('usage', 'train needs --task (or --resume <run>)');
  const task = canonicalTask(options.task);
  checkOutputDir(resolve(options.runs));
  const fromFile = options.config ? readConfigFile(options.config) : {};
  const algo = presetOf(options, fromFile);
  const config = resolveTrainConfig(algo, options.config ?? `--algo ${algo}`, fromFile, {
    ...flagOverrides(options, fromFile),
    algo,
  });
  const priorSpec = config.rlingua.prior === 'active' ? undefined : config.rlingua.prior;
  const info = newRunInfo(task, options.robot, algo, options.seed);
  // The folder is made once the prior and demonstrations have loaded: a refused input leaves nothing behind.
  let lock: RunLock | undefined;
  const createRunDir = (config: TrainConfig) => {
    const runDir = newRunDir(resolve(options.runs), task, algo, options.seed);
    lock = RunLock.acquire(runDir, 'armprior train');
    writeRunConfig(runDir, config);
    return runDir;
  };
  return { createRunDir, lock: () => lock, config, info, priorSpec };
}

/**
 * A run to continue: its saved config (a `--config` file or `--steps` may change fields; a
 * different network size is refused when the checkpoint is loaded), its task and algorithm
 * (a different --task or --algo is refused).
 */
function resumeSetup(options: TrainOptions): Setup {
  const runDir = resolve(options.resume!);
  if (!existsSync(runDir)) throw new ArmpriorError('run_missing', `no run folder ${runDir}`);
  const info = readRunInfo(runDir);
  checkOutputDir(runDir);
  // Held from here on (released when the process exits): a second process on the folder is
  // refused before it changes anything (issue #17).
  const lock = RunLock.acquire(runDir, 'armprior train --resume');
  if (options.task && canonicalTask(options.task) !== info.task) {
    throw new ArmpriorError(
      'resume_mismatch',
      `${runDir} trains task ${info.task}, not ${canonicalTask(options.task)}; start a new run instead`,
    );
  }
  if (options.algo && options.algo !== info.algo) {
    throw new ArmpriorError(
      'resume_mismatch',
      `${runDir} trains with ${info.algo}, not ${options.algo}; start a new run instead`,
    );
  }
  const configFile = runFiles(runDir).config;
  const saved = readRunConfig(runDir);
  const fromFile = options.config ? readConfigFile(options.config) : {};
  if (fromFile.algo !== undefined && fromFile.algo !== info.algo) {
    throw new ArmpriorError(
      'resume_mismatch',
      `${runDir} trains with ${info.algo}, not ${String(fromFile.algo)} (algo of ${options.config}); start a new run instead`,
    );
  }
  const config = resolveTrainConfig(
    info.algo as Algo,
    configFile,
    deepMerge(saved, fromFile),
    flagOverrides(options, fromFile),
  );
  if (options.seed !== 0 && options.seed !== info.seed) {
    throw new ArmpriorError(
      'resume_mismatch',
      `${runDir} was started with seed ${info.seed}; a resumed run keeps it`,
    );
  }
  const priorSpec = config.rlingua.prior === 'active' ? undefined : config.rlingua.prior;
  const createRunDir = (config: TrainConfig) => {
    writeRunConfig(runDir, config);
    return runDir;
  };
  return { createRunDir, lock: () => lock, config, info, priorSpec };
}

/** Demonstration episodes of `--demos` (a Parquet dataset, checked against the task's layout). */
async function loadDemos(
  dir: string | undefined,
  task: string,
  robot: string,
): Promise<Episode[] | undefined> {
  if (dir === undefined) return undefined;
  const env = await ArmEnv.create({ task, robot });
  try {
    const { episodes, tempFiles, unverified } = await readDemonstrations(resolve(dir), env);
    if (tempFiles.length > 0) {
      process.stderr.write(`armprior: ignored ${tempFiles.length} unfinished episode file(s) in ${dir}\n`);
    }
    if (unverified.length > 0) {
      process.stderr.write(
        `armprior: ${unverified.length} of ${episodes.length} episode file(s) in ${dir} have no checksum (written before armprior kept them): read unverified\n`,
      );
    }
    process.stderr.write(`armprior: ${episodes.length} demonstration episodes from ${dir}\n`);
    return episodes;
  } finally {
    env.close();
  }
}

/** What policy.onnx is when it is a mean of policies (policyAveraging). */
function averagedNote(policies: number, averaging: { fromStep: number; everySteps: number }): string {
  if (policies === 0) return '';
  return ` (the mean of ${policies} policies, one every ${averaging.everySteps} steps from step ${averaging.fromStep})`;
}
