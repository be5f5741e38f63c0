import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { ArmEnv } from '../../../sim/env.js';
import { BASIC_CONTROLLERS } from '../../controllers/basic.js';
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
import type { EpisodeSink } from '../../episodes/sink.js';
import { createNamedController } from '../named-controller.js';
import { integerOption } from '../options.js';
import { createProgress } from '../progress.js';

interface SimOptions {
  task: string;
  controller: string;
  priors?: string;
  episodes: number;
  seed: number;
  robot: string;
  reward?: 'sparse' | 'dense';
  json?: boolean;
  record?: string;
  replays?: string;
}

/** `armprior sim`: runs episodes of a controller on a simulated task and reports them. */
export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run simulated episodes of a task with a controller and report return, length and success')
    .requiredOption('-t, --task <name>', 'task (see `armprior tasks`)')
    .option(
      '-c, --controller <name>',
      `controller: ${BASIC_CONTROLLERS.join('|')}|prior[:vN|:bundled] (the task's active prior, or a version)`,
      'random',
    )
    .option('--priors <dir>', 'the controller store for prior[:vN] (default ./priors)')
    .option('-n, --episodes <n>', 'number of episodes', integerOption(1, 1_000_000), 10)
    .option(
      '-s, --seed <seed>',
      'episode k is reset with seed + k; the controller draws from the same seed',
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
      // Before any episode: an output folder that cannot be written is bad input.
      if (options.record) checkOutputDir(resolve(options.record));
      if (options.replays) checkOutputDir(resolve(options.replays));
      const env = await ArmEnv.create({
        task: options.task,
        robot: options.robot,
        taskOverrides: options.reward ? { rewardType: options.reward } : {},
      });
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
        if (dataset) sinks.push(new DatasetSink(dataset, controller.name));
        const progress = options.json ? undefined : createProgress('episodes', options.episodes);
        const episodes: EpisodeSummary[] = [];
        const start = performance.now();
        for (let k = 0; k < options.episodes; k++) {
          const episode = await runEpisode(env, controller, options.seed + k, { index: k, sinks });
          episodes.push(episode);
          if (!options.json && !process.stderr.isTTY) printEpisode(episode, options.episodes);
          progress?.update(k + 1, `success ${(summarize(episodes).successRate * 100).toFixed(0)}%`);
        }
        progress?.stop();
        await dataset?.close();
        const seconds = (performance.now() - start) / 1000;
        const stats = summarize(episodes);
        const steps = episodes.reduce((n, e) => n + e.length, 0);
        if (options.json) {
          const report = {
            task: env.task.name,
            robot: env.robot.name,
            controller: controller.name,
            seed: options.seed,
            rewardType: env.task.config.rewardType,
            episodes,
            summary: { ...stats, steps, seconds, stepsPerSecond: steps / seconds },
          };
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        if (process.stderr.isTTY) for (const e of episodes) printEpisode(e, options.episodes);
        process.stdout.write(
          `\n${env.task.name} · ${controller.name} controller · ${episodes.length} episodes from seed ${options.seed}\n` +
            `  success rate  ${(stats.successRate * 100).toFixed(1)}%\n` +
            `  return        ${stats.meanReturn.toFixed(2)} ± ${stats.stdReturn.toFixed(2)} (${env.task.config.rewardType})\n` +
            `  length        ${stats.meanLength.toFixed(1)} steps\n` +
            (stats.unstableEpisodes > 0
              ? `  unstable      ${stats.unstableEpisodes} episodes ended by unstable physics\n`
              : '') +
            `  speed         ${(steps / seconds).toFixed(0)} env steps/s (${seconds.toFixed(2)} s)\n` +
            (recorder ? `  replays       ${recorder.dir}\n` : ''),
        );
      } finally {
        controller?.dispose?.();
        env.close();
      }
    });
}

function printEpisode(e: EpisodeSummary, total: number): void {
  const width = String(total).length;
  const distance =
    e.finalGoalDistance === undefined ? '' : `  final distance ${e.finalGoalDistance.toFixed(3)} m`;
  process.stdout.write(
    `episode ${String(e.index + 1).padStart(width)}/${total}  seed ${e.seed}  return ${e.return.toFixed(2).padStart(7)}  length ${e.length}  success ${e.success ? 'yes' : 'no '}${distance}${e.simUnstable ? '  (unstable physics)' : ''}${e.controllerFailures > 0 ? `  controller errors ${e.controllerFailures}` : ''}${e.abortReason ? `  ended: ${e.abortReason}` : ''}\n`,
  );
}
