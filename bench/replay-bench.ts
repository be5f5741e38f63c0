import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArmEnv } from '../sim/env.js';
import { createBasicController } from '../src/controllers/basic.js';
import { Rng } from '../src/core/rng.js';
import { runEpisode } from '../src/episodes/run-episode.js';
import { SceneReplaySink } from '../src/episodes/scene/scene-replay-sink.js';

/** Results of `armprior bench replays`: what recording a replay adds to an episode. */
export interface ReplayBenchResult {
  task: string;
  /** Steps per episode (the task's time limit). */
  episodeSteps: number;
  /** Medians over interleaved rounds (ms per episode). */
  plainEpisodeMs: number;
  /** The episode with poses captured every step, JSON written atomically (fsynced). */
  recordedEpisodeMs: number;
  /** recorded − plain (ms per episode). */
  recordingCostMs: number;
  /** Size of one replay file (bytes). */
  replayBytes: number;
}

/**
 * Times episodes of the zero controller (so the env and the recorder are what is measured) with
 * and without a replay, in interleaved rounds so both see the same machine load.
 */
export async function runReplayBench(
  options: { task?: string; rounds?: number; episodesPerRound?: number } = {},
): Promise<ReplayBenchResult> {
  const task = options.task ?? 'push';
  const rounds = options.rounds ?? 7;
  const perRound = options.episodesPerRound ?? 10;
  const env = await ArmEnv.create({ task });
  const dir = mkdtempSync(join(tmpdir(), 'armprior-replay-bench-'));
  try {
    const controller = createBasicController('zero', env.actionSize, Rng.fromSeed(0));
    const replays = new SceneReplaySink(env, { actor: 'zero', dir });
    let file = '';
    const plain = async () => {
      for (let k = 0; k < perRound; k++) await runEpisode(env, controller, k);
    };
    const recorded = async () => {
      for (let k = 0; k < perRound; k++) {
        await runEpisode(env, controller, k, { sinks: [replays] });
        file = replays.lastFile!;
      }
    };
    await plain(); // warm-up: V8 tiers the wasm up over the first thousands of steps
    await recorded();
    const time = async (body: () => Promise<void>) => {
      const start = performance.now();
      await body();
      return (performance.now() - start) / perRound;
    };
    const plainMs: number[] = [];
    const recordedMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      plainMs.push(await time(plain));
      recordedMs.push(await time(recorded));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    return {
      task,
      episodeSteps: env.task.config.maxEpisodeSteps,
      plainEpisodeMs: median(plainMs),
      recordedEpisodeMs: median(recordedMs),
      recordingCostMs: median(recordedMs) - median(plainMs),
      replayBytes: statSync(file).size,
    };
  } finally {
    env.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
