import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { ArmEnv } from '../../../sim/env.js';
import { BASIC_CONTROLLERS } from '../../controllers/basic.js';
import { BadInputError } from '../../core/errors.js';
import { checkOutputDir } from '../../core/output-path.js';
import { Rng } from '../../core/rng.js';
import { DatasetSink } from '../../episodes/dataset/dataset-sink.js';
import { openSimDataset } from '../../episodes/dataset/env-datasets.js';
import {
  type EpisodeController,
  type EpisodeSummary,
  runEpisode,
  summarize,
} from '../../episodes/run-episode.js';
import { SceneReplaySink } from '../../episodes/scene/scene-replay-sink.js';
import { simReport } from '../../episodes/sim-report.js';
import type { EpisodeSink } from '../../episodes/sink.js';
import { createNamedController, resolveNamedController } from '../named-controller.js';
import { integerOption } from '../options.js';
import { createProgress } from '../progress.js';
import { episodeLine, reportText } from '../sim-report-text.js';
import { addQueueOptions } from './experiment-queue.js';
import { printCollectionStatus, type SimQueueOptions, submitCollectionToQueue } from './sim-queue.js';

interface SimOptions extends SimQueueOptions {
  task?: string;
  controller: string;
  priors?: string;
  episodes: number;
  seed: number;
  robot: string;
  reward?: 'sparse' | 'dense';
  json?: boolean;
  record?: string;
  replays?: string;
  chunk: number;
}

/** `armprior sim`: runs episodes of a controller on a simulated task and reports them. */
export function registerSimCommand(program: Command): void {
  const sim = program.command('sim');
  addQueueOptions(
    sim
      .command('status <id>')
      .description(
        'the state of a queued collection: episodes done, chunks running on which worker, failures',
      )
      .option('--wait', "follow it to its end and print sim's report")
      .option('--json', 'with --wait: print the report as one JSON document'),
    'the queue it was submitted to',
  ).action(async (id: string, _options: SimQueueOptions, command: Command) =>
    // The parent's --queue and --prefix take the values when given after `status` too.
    printCollectionStatus(id, command.optsWithGlobals<SimQueueOptions>()),
  );
  addQueueOptions(
    sim,
    'run the episodes as jobs of `armprior worker`s on this Redis (in chunks, into one --record dataset) instead of here, and return',
  )
    .option('--wait', "with --queue: follow the collection to its end and print sim's report")
    .option('--chunk <n>', 'with --queue: episodes per job', integerOption(1, 100_000), 25)
    .addHelpText('after', '\nQueued collections: armprior sim status <id> --queue <url>')
    .description('run simulated episodes of a task with a controller and report return, length and success')
    // Not a requiredOption: Commander checks those of a parent before `sim status` too.
    .option('-t, --task <name>', 'task (see `armprior tasks`) (required)')
    .option(
      '-c, --controller <name>',
      `controller: ${BASIC_CONTROLLERS.join('|')}|prior[:vN|:bundled] (the task's active prior, or a version)`,
      'random',
    )
    .option('--priors <dir>', 'the controller store for prior[:vN] (default ./priors)')
    .option('-n, --episodes <n>', 'number of episodes', integerOption(1, 1_000_000), 10)
    .option(
      '-s, --seed <seed>',
      'episode k is reset with seed + k, and the random controller draws from that seed',
      integerOption(0, 2 ** 31 - 1),
      0,
    )
    .option('-r, --robot <name|file>', 'robot from config/robots or a robot YAML file', 'panda')
    .addOption(new Option('--reward <type>', 'override the task reward type').choices(['sparse', 'dense']))
    .option('--json', 'print one JSON document instead of text')
    .option(
      '--record <dir>',
      'save every episode to this dataset (Parquet, docs/datasets.md): demonstrations for train --demos',
    )
    .option(
      '--replays <dir>',
      'save every episode as a replay for the viewer (JSON, src/episodes/scene/scene-replay-format.ts), after those already there',
    )
    .action(async (options: SimOptions) => {
      if (options.task === undefined)
        throw new BadInputError("required option '-t, --task <name>' not specified; see armprior sim --help");
      const task = options.task;
      if (options.queue !== undefined && options.replays) {
        throw new BadInputError(
          '--replays writes scene replays on this machine: leave it out with --queue (record a dataset with --record)',
        );
      }
      // Before any episode: an output folder that cannot be written is bad input.
      if (options.record) checkOutputDir(resolve(options.record));
      if (options.replays) checkOutputDir(resolve(options.replays));
      const env = await ArmEnv.create({
        task,
        robot: options.robot,
        taskOverrides: options.reward ? { rewardType: options.reward } : {},
      });
      if (options.queue !== undefined) {
        try {
          await queueCollection(env, options);
        } finally {
          env.close();
        }
        return;
      }
      let controller: EpisodeController | undefined;
      try {
        const rng = Rng.fromSeed(options.seed);
        const created = await createNamedController(env, options.controller, options.priors, rng);
        controller = created.controller;
        const dataset = options.record ? await openSimDataset(resolve(options.record), env) : undefined;
        const recorder = options.replays
          ? new SceneReplaySink(env, { actor: created.actor, dir: resolve(options.replays) })
          : undefined;
        // The scene replay first, then the dataset: the order the files were always written in.
        const sinks: EpisodeSink[] = [];
        if (recorder) sinks.push(recorder);
        // The actor as docs/datasets.md names it: prior:<task>:<version>, random, zero.
        if (dataset) sinks.push(new DatasetSink(dataset, created.actor));
        const progress = options.json ? undefined : createProgress('episodes', options.episodes);
        const episodes: EpisodeSummary[] = [];
        const start = performance.now();
        for (let k = 0; k < options.episodes; k++) {
          const episode = await runEpisode(env, controller, options.seed + k, { index: k, sinks });
          episodes.push(episode);
          if (!options.json && !process.stderr.isTTY)
            process.stdout.write(episodeLine(episode, options.episodes));
          progress?.update(k + 1, `success ${(summarize(episodes).successRate * 100).toFixed(0)}%`);
        }
        progress?.stop();
        await dataset?.close();
        const report = simReport(
          {
            task: env.task.name,
            robot: env.robot.name,
            controller: controller.name,
            seed: options.seed,
            rewardType: env.task.config.rewardType,
          },
          episodes,
          (performance.now() - start) / 1000,
        );
        if (options.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        if (process.stderr.isTTY)
          for (const e of episodes) process.stdout.write(episodeLine(e, options.episodes));
        process.stdout.write(reportText(report, '', recorder ? [`replays       ${recorder.dir}`] : []));
      } finally {
        controller?.dispose?.();
        env.close();
      }
    });
}

/** The episodes as jobs of the queue (--queue): the prior pinned, the dataset opened once here to check it fits. */
async function queueCollection(env: ArmEnv, options: SimOptions): Promise<void> {
  const { prior, controllerName } = resolveNamedController(env.task.name, options.controller, options.priors);
  const datasetDir = options.record ? resolve(options.record) : undefined;
  // Opened here so that a dataset of another task or layout is refused now, not by every worker.
  if (datasetDir) await (await openSimDataset(datasetDir, env)).close();
  await submitCollectionToQueue(
    {
      task: env.task.name,
      // A robot file, by a path every worker reads alike (on the shared disk).
      robot: /[/\\]|\.ya?ml$/.test(options.robot) ? resolve(options.robot) : options.robot,
      ...(options.reward ? { reward: options.reward } : {}),
      controller: options.controller,
      ...(prior ? { prior } : {}),
      seed: options.seed,
      episodes: options.episodes,
      controllerName,
      rewardType: env.task.config.rewardType,
      chunk: options.chunk,
      ...(datasetDir ? { datasetDir } : {}),
    },
    options,
  );
}
