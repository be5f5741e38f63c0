import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { ArmEnv } from '../../../sim/env.js';
import { observationLayout } from '../../contract/controller-contract.js';
import { BASIC_CONTROLLERS } from '../../controllers/basic.js';
import { EpisodeTracker, failureCounts } from '../../controllers/rollout-critic.js';
import { ArmpriorError } from '../../core/errors.js';
import { checkOutputDir } from '../../core/output-path.js';
import { Rng } from '../../core/rng.js';
import {
  type EpisodeController,
  type EpisodeSummary,
  runEpisode,
  summarize,
} from '../../episodes/run-episode.js';
import { SceneReplaySink } from '../../episodes/scene/scene-replay-sink.js';
import { CLEARLY_BETTER_Z } from '../../rl/experiment/experiment-table.js';
import { episodeSuccesses, mcNemar, type PairedComparison } from '../../rl/experiment/held-out.js';
import { OnnxPolicy, policyTaskOf } from '../../rl/onnx-policy.js';
import { policyInputFields } from '../../rl/policy-export.js';
import { evaluationFromMetadata } from '../../rl/train/best-policy.js';
import { readRunInfo, runFiles } from '../../rl/train/run-dir.js';
import { createNamedController } from '../named-controller.js';
import { integerOption } from '../options.js';
import { canonicalTask } from '../prior-support.js';
import { createProgress } from '../progress.js';

interface EvalOptions {
  task?: string;
  episodes: number;
  seed: number;
  robot?: string;
  json?: boolean;
  /** `--replays` alone: the default folder; `--replays <dir>`: that one. */
  replays?: string | true;
  /** A run's best-policy.onnx instead of its policy.onnx. */
  best?: boolean;
  /** A controller to run on the same episodes and compare with, paired (`prior:bundled`, say). */
  against?: string;
  /** The controller store for `--against prior[:vN]`. */
  priors?: string;
}

/**
 * `armprior eval <run|policy.onnx>`: runs the exported ONNX policy (through onnxruntime-node,
 * exactly the file `armprior run` uses) on a fixed seed set and reports its success rate.
 */
export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('evaluate a trained policy (a run folder or a policy.onnx) on simulated episodes')
    .argument('<policy>', 'a run folder (its policy.onnx) or an ONNX policy file')
    .option('-t, --task <name>', 'task (default: the run’s, or the one the policy file names)')
    .option('-n, --episodes <n>', 'episodes', integerOption(1, 100_000), 50)
    .option('-s, --seed <seed>', 'episode k is reset with seed + k', integerOption(0, 2 ** 31 - 1), 1000)
    .option('-r, --robot <name|file>', 'robot (default: the run’s, else panda)')
    .option('--json', 'print JSON')
    .option('--best', 'a run’s best-policy.onnx (its best training evaluation) instead of its last policy')
    .option(
      '--replays [dir]',
      'save every episode as a replay for the viewer (default folder: <run>/replays, or replays/ beside the .onnx)',
    )
    .option(
      '--against <controller>',
      `also run ${BASIC_CONTROLLERS.join('|')}|prior[:vN|:bundled] on the same episodes and compare, episode by episode (McNemar's z)`,
    )
    .option('--priors <dir>', 'the controller store for --against prior[:vN] (default ./priors)')
    .action(async (target: string, options: EvalOptions) => {
      const { file, task, robot } = locatePolicy(resolve(target), options);
      // A run's policy.onnx sits in the run folder: beside it is <run>/replays.
      const replaysDir =
        options.replays === true
          ? join(dirname(file), 'replays')
          : options.replays && resolve(options.replays);
      // Before any episode: a replays folder that cannot be written is bad input.
      if (replaysDir) checkOutputDir(replaysDir);
      const env = await ArmEnv.create({ task, robot });
      let policy: OnnxPolicy | undefined;
      let against: { controller: EpisodeController; actor: string } | undefined;
      try {
        // Before any episode: a controller name or prior version that does not exist is bad input.
        if (options.against) {
          against = await createNamedController(
            env,
            options.against,
            options.priors,
            Rng.fromSeed(options.seed),
          );
        }
        policy = await OnnxPolicy.load(file, {
          inputSize: env.observationSize + env.goalSize,
          actionSize: env.actionSize,
          fields: policyInputFields(env),
        });
        if (policy.metadata.task && policy.metadata.task !== env.task.name) {
          throw new ArmpriorError(
            'policy_task',
            `${file} was trained on ${policy.metadata.task}, not ${env.task.name} (pass --task ${policy.metadata.task})`,
          );
        }
        const progress = options.json ? undefined : createProgress(`evaluating ${file}`, options.episodes);
        // The prior's rollout critic diagnoses every episode, so a policy's failures read the same
        // way as its prior's (`armprior prior eval`): does it fail less, or differently?
        const layout = observationLayout(env.observationFields, env.task.goalFields, env.actionSize);
        const episodes: (EpisodeSummary & { outcome: string })[] = [];
        const loaded = policy;
        const recorder = replaysDir
          ? new SceneReplaySink(env, { actor: `policy:${displayPath(file)}`, dir: replaysDir })
          : undefined;
        for (let k = 0; k < options.episodes; k++) {
          const tracker = new EpisodeTracker(layout, env.task.config.distanceThresholdM);
          const episode = await runEpisode(
            env,
            { name: file, reset() {}, act: (o, _a, g) => loaded.act(o, g) },
            options.seed + k,
            { index: k, sinks: recorder ? [tracker, recorder] : [tracker] },
          );
          const diagnosis = tracker.diagnose(episode.success, [], episode.abortReason, env.task.usesGripper);
          episodes.push({ ...episode, outcome: diagnosis.outcome });
          progress?.update(k + 1, `success ${(100 * summarize(episodes).successRate).toFixed(0)}%`);
        }
        progress?.stop();
        const stats = summarize(episodes);
        const failures = failureCounts(episodes);
        const chosenBy = evaluationFromMetadata(policy.rawMetadata);
        const comparison = against && (await compareOnSameEpisodes(env, against, episodes, options));
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ policy: file, task, seed: options.seed, chosenBy, ...stats, failures, episodes, ...(comparison ? { against: comparison } : {}) }, null, 2)}\n`,
          );
          return;
        }
        process.stdout.write(
          `\n${task} · ${file} (${policy.metadata.algorithm || 'policy'}) · ${stats.episodes} episodes from seed ${options.seed}\n` +
            (chosenBy
              ? `  chosen at     step ${chosenBy.step}, ${(100 * chosenBy.successRate).toFixed(0)}% on the training evaluation's ${chosenBy.episodes} episodes\n`
              : '') +
            `  success rate  ${(100 * stats.successRate).toFixed(1)}%\n` +
            `  return        ${stats.meanReturn.toFixed(2)} ± ${stats.stdReturn.toFixed(2)}\n` +
            failures
              .map((f, i) => `  ${i === 0 ? 'failures    ' : '            '}  ${f.count} × ${f.outcome}\n`)
              .join('') +
            (recorder ? `  replays       ${recorder.dir}\n` : '') +
            (comparison ? comparisonLines(comparison) : ''),
        );
      } finally {
        await policy?.close();
        against?.controller.dispose?.();
        env.close();
      }
    });
}

/** The `--against` controller on the policy's episodes, and the two paired. */
interface Comparison extends PairedComparison {
  controller: string;
  successRate: number;
  /** Per episode, in the policy's order: whether the controller solved it. */
  successes: boolean[];
}

/**
 * Runs the `--against` controller on the seeds the policy ran on and pairs the outcomes episode
 * by episode: the episodes only one of them solved are what says which is better (issue #19:
 * "clearly better" is McNemar's z ≥ 3 on the same episodes).
 */
async function compareOnSameEpisodes(
  env: ArmEnv,
  against: { controller: EpisodeController; actor: string },
  policyEpisodes: readonly EpisodeSummary[],
  options: EvalOptions,
): Promise<Comparison> {
  const progress = options.json
    ? undefined
    : createProgress(`running ${against.actor}`, policyEpisodes.length);
  const successes = await episodeSuccesses(
    env,
    against.controller,
    policyEpisodes.map((e) => e.seed),
    (done) => progress?.update(done, ''),
  );
  progress?.stop();
  const paired = mcNemar(
    policyEpisodes.map((e) => e.success),
    successes,
  );
  return {
    controller: against.actor,
    successRate: successes.filter(Boolean).length / successes.length,
    successes,
    ...paired,
  };
}

function comparisonLines(c: Comparison): string {
  const verdict =
    c.z >= CLEARLY_BETTER_Z
      ? 'the policy is clearly better'
      : c.z <= -CLEARLY_BETTER_Z
        ? `${c.controller} is clearly better`
        : 'neither is clearly better';
  return (
    `  against       ${c.controller} on the same episodes: ${(100 * c.successRate).toFixed(1)}%\n` +
    `  paired        only the policy solved ${c.onlyFirst}, only ${c.controller} ${c.onlySecond}: McNemar's z = ${c.z.toFixed(2)} (${verdict}; clearly at |z| ≥ ${CLEARLY_BETTER_Z})\n`
  );
}

/** A path relative to the working folder when it lies inside it (`runs/…/policy.onnx`), else absolute. */
function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

/** The policy file, task and robot for a run folder or a bare ONNX file. */
export function locatePolicy(
  target: string,
  options: { task?: string | undefined; robot?: string | undefined; best?: boolean | undefined },
): { file: string; task: string; robot: string } {
  if (!existsSync(target))
    throw new ArmpriorError('policy_missing', `no run folder or policy file ${target}`);
  if (statSync(target).isDirectory()) {
    const info = readRunInfo(target);
    const file = options.best ? runFiles(target).bestPolicy : runFiles(target).policy;
    if (!existsSync(file)) {
      throw new ArmpriorError(
        'policy_missing',
        options.best
          ? `${target} has no best-policy.onnx yet (training writes it at its first evaluation)`
          : `${target} has no policy.onnx yet (write one with armprior export ${target})`,
      );
    }
    const task = options.task ? canonicalTask(options.task) : info.task;
    return { file, task, robot: options.robot ?? info.robot };
  }
  if (options.best)
    throw new ArmpriorError('usage', `--best picks a file in a run folder; ${target} is a file`);
  // The file names its task (issue #17 §4: eval asked for --task although the metadata said it).
  const task = options.task ?? policyTaskOf(target);
  if (!task) {
    throw new ArmpriorError(
      'usage',
      `${target} does not name its task (no armprior.task metadata): give --task`,
    );
  }
  return { file: target, task: canonicalTask(task), robot: options.robot ?? 'panda' };
}
