import { ArmEnv } from '../sim/env.js';
import { VecEnv } from '../sim/vec-env.js';
import { Rng } from '../src/core/rng.js';
import { servedStepsPerSec } from './served-env-bench.js';

/** Results of `armprior bench sim`. Rates are medians over interleaved rounds. */
export interface SimBenchResult {
  task: string;
  substeps: number;
  /** mj_step calls per second, replaying exactly the physics the env ran (same states, same controls). */
  rawStepsPerSec: number;
  /** Env control steps per second for one env (IK, observation, reward, checks included). */
  envStepsPerSec: number;
  /** envStepsPerSec ÷ (rawStepsPerSec ÷ substeps); 1 means the env adds nothing to the physics. Goal ≥ 0.85. */
  envEfficiency: number;
  /** Largest |qpos| difference between the env run and its raw replay (0: the replay is the same physics). */
  replayMaxAbsDiff: number;
  vec: {
    numEnvs: number;
    oneWorkerStepsPerSec: number;
    twoWorkerStepsPerSec: number;
    /** twoWorkerStepsPerSec ÷ oneWorkerStepsPerSec. Goal ≥ 1.7 on 2 cores. */
    speedup: number;
  };
  /** The env through `armprior env serve` (the Python package's path), against envStepsPerSec. */
  served: { stepsPerSec: number; overheadUsPerStep: number };
  rounds: number;
}

export interface SimBenchOptions {
  task?: string;
  /** Interleaved measurement rounds (the machine is shared and noisy: medians of rounds). */
  rounds?: number;
  /** Env steps per round for the single-env measurement. */
  stepsPerRound?: number;
  /** Physics steps run first so V8 tiers the wasm up (~10k steps). */
  warmupPhysicsSteps?: number;
  numEnvs?: number;
  vecStepsPerRound?: number;
  onProgress?: (message: string) => void;
}

interface Recording {
  /** Per episode: qpos, qvel and mocap positions right after reset. */
  starts: { qpos: Float64Array; qvel: Float64Array; mocap: Float64Array; step: number }[];
  /** ctrl vector of every control step. */
  ctrl: Float64Array[];
  finalQpos: Float64Array;
}

/**
 * Measures the env's cost on top of MuJoCo: runs the env with random actions (recording what
 * it sends to the physics), then replays the recording with bare mj_step calls on the same
 * model and data, alternating the two in rounds. Then VecEnv with 1 and 2 workers, alternating.
 */
export async function runSimBench(options: SimBenchOptions = {}): Promise<SimBenchResult> {
  const task = options.task ?? 'push';
  const rounds = options.rounds ?? 5;
  const stepsPerRound = options.stepsPerRound ?? 1500;
  const log = options.onProgress ?? (() => {});
  const env = await ArmEnv.create({ task });
  const sim = env.simulation;
  const rng = Rng.fromSeed(1);
  const action = new Float64Array(env.actionSize);
  const randomStep = () => {
    for (let i = 0; i < action.length; i++) action[i] = rng.uniform(-1, 1);
    return env.step(action);
  };

  log('warming up');
  const warmupControlSteps = Math.ceil((options.warmupPhysicsSteps ?? 20_000) / env.substeps);
  env.reset({ seed: 0 });
  for (let i = 0; i < warmupControlSteps; i++) {
    const r = randomStep();
    if (r.terminated || r.truncated) env.reset();
  }

  const envRates: number[] = [];
  const rawRates: number[] = [];
  let replayMaxAbsDiff = 0;
  for (let round = 0; round < rounds; round++) {
    log(`single env round ${round + 1}/${rounds}`);
    // Env, recording what reaches the physics.
    const rec: Recording = { starts: [], ctrl: [], finalQpos: new Float64Array(0) };
    const snapshot = (step: number) =>
      rec.starts.push({ qpos: sim.qpos.slice(), qvel: sim.qvel.slice(), mocap: sim.mocapPos.slice(), step });
    const t0 = performance.now();
    env.reset({ seed: 100 + round });
    snapshot(0);
    for (let i = 0; i < stepsPerRound; i++) {
      const r = randomStep();
      rec.ctrl.push(sim.ctrl.slice());
      if ((r.terminated || r.truncated) && i + 1 < stepsPerRound) {
        env.reset();
        snapshot(i + 1);
      }
    }
    const envSeconds = (performance.now() - t0) / 1000;
    rec.finalQpos = sim.qpos.slice();
    // Raw replay of the same physics. Copying the recording in is part of neither side's
    // work, so the few array writes per step are the only extra cost, and they count against raw.
    const { mj, model, data } = sim;
    const t1 = performance.now();
    let nextStart = 0;
    for (let i = 0; i < stepsPerRound; i++) {
      if (nextStart < rec.starts.length && rec.starts[nextStart]!.step === i) {
        const s = rec.starts[nextStart++]!;
        mj.mj_resetData(model, data);
        sim.qpos.set(s.qpos);
        sim.qvel.set(s.qvel);
        sim.mocapPos.set(s.mocap);
        mj.mj_forward(model, data);
      }
      sim.ctrl.set(rec.ctrl[i]!);
      for (let k = 0; k < env.substeps; k++) mj.mj_step(model, data);
    }
    const rawSeconds = (performance.now() - t1) / 1000;
    for (let j = 0; j < rec.finalQpos.length; j++) {
      replayMaxAbsDiff = Math.max(replayMaxAbsDiff, Math.abs(sim.qpos[j]! - rec.finalQpos[j]!));
    }
    envRates.push(stepsPerRound / envSeconds);
    rawRates.push((stepsPerRound * env.substeps) / rawSeconds);
  }
  const substeps = env.substeps;
  env.close();
  log('the same env through armprior env serve');
  const servedRate = await servedStepsPerSec(task, rounds, Math.min(stepsPerRound, 500));

  const numEnvs = options.numEnvs ?? 4;
  const vecSteps = options.vecStepsPerRound ?? 300;
  log('starting VecEnvs');
  const one = await VecEnv.create({ task, numEnvs, numWorkers: 1, seed: 0 });
  const two = await VecEnv.create({ task, numEnvs, numWorkers: 2, seed: 0 });
  const vecRng = Rng.fromSeed(2);
  const actions = new Float64Array(numEnvs * one.actionSize);
  const runVec = async (vec: VecEnv, steps: number) => {
    await vec.reset();
    const t = performance.now();
    for (let i = 0; i < steps; i++) {
      for (let j = 0; j < actions.length; j++) actions[j] = vecRng.uniform(-1, 1);
      await vec.step(actions);
    }
    return (steps * numEnvs) / ((performance.now() - t) / 1000);
  };
  try {
    // Warm both up (each worker's wasm tiers up separately).
    await runVec(one, Math.ceil(20_000 / substeps / numEnvs) * 2);
    await runVec(two, Math.ceil(20_000 / substeps / numEnvs) * 2);
    const oneRates: number[] = [];
    const twoRates: number[] = [];
    for (let round = 0; round < rounds; round++) {
      log(`VecEnv round ${round + 1}/${rounds}`);
      oneRates.push(await runVec(one, vecSteps));
      twoRates.push(await runVec(two, vecSteps));
    }
    const rawStepsPerSec = median(rawRates);
    const envStepsPerSec = median(envRates);
    const oneWorker = median(oneRates);
    const twoWorker = median(twoRates);
    return {
      task,
      substeps,
      rawStepsPerSec,
      envStepsPerSec,
      envEfficiency: median(envRates.map((e, i) => e / (rawRates[i]! / substeps))),
      replayMaxAbsDiff,
      vec: {
        numEnvs,
        oneWorkerStepsPerSec: oneWorker,
        twoWorkerStepsPerSec: twoWorker,
        speedup: median(twoRates.map((t, i) => t / oneRates[i]!)),
      },
      served: {
        stepsPerSec: servedRate,
        overheadUsPerStep: 1e6 / servedRate - 1e6 / envStepsPerSec,
      },
      rounds,
    };
  } finally {
    await one.close();
    await two.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
