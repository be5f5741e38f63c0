import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArmEnv } from '../../sim/env.js';
import { PriorStore } from '../../src/controllers/store.js';
import { sceneReplayFileName } from '../../src/episodes/scene/scene-replay-files.js';
import {
  SCENE_REPLAY_FORMAT_VERSION,
  type SceneGeom,
  type SceneReplay,
} from '../../src/episodes/scene/scene-replay-format.js';

/** MuJoCo's mjtGeom numbering (plane 0 … box 6); height fields and meshes are left out here. */
const GEOM_TYPES: Record<number, SceneGeom['type']> = {
  0: 'plane',
  2: 'sphere',
  3: 'capsule',
  4: 'ellipsoid',
  5: 'cylinder',
  6: 'box',
};

/**
 * A replay of a real episode for the viewer's tests: a real ArmEnv of `task`, reset with `seed`,
 * stepped with a constant action (so the arm visibly moves), its geoms and body poses read from
 * MuJoCo. A stand-in for the recorder being written for issue #6, kept to what the tests need.
 */
export async function recordReplayFixture(
  task: string,
  seed: number,
  options: { steps?: number; action?: number[]; actor?: string } = {},
): Promise<SceneReplay> {
  const env = await ArmEnv.create({ task });
  try {
    const { mj, model } = env.simulation;
    const m = model as unknown as Record<string, ArrayLike<number>> & { ngeom: number; nbody: number };
    const objGeom = (mj.mjtObj as unknown as Record<string, { value: number }>).mjOBJ_GEOM!.value;
    const objBody = (mj.mjtObj as unknown as Record<string, { value: number }>).mjOBJ_BODY!.value;
    const nums = (a: ArrayLike<number>, i: number, n: number) =>
      Array.from({ length: n }, (_, k) => Number(a[n * i + k]));
    const geoms: SceneGeom[] = [];
    for (let g = 0; g < m.ngeom; g++) {
      const type = GEOM_TYPES[Number(m.geom_type![g])];
      if (type === undefined) continue;
      const name = mj.mj_id2name(model, objGeom, g);
      geoms.push({
        type,
        body: Number(m.geom_bodyid![g]),
        size: nums(m.geom_size!, g, 3) as [number, number, number],
        pos: nums(m.geom_pos!, g, 3) as [number, number, number],
        quat: nums(m.geom_quat!, g, 4) as [number, number, number, number],
        rgba: nums(m.geom_rgba!, g, 4) as [number, number, number, number],
        ...(name ? { name } : {}),
      });
    }
    const bodies = Array.from({ length: m.nbody }, (_, b) => mj.mj_id2name(model, objBody, b) || `body${b}`);
    const frames: SceneReplay['frames'] = [];
    const capture = (reward: number, success: boolean, terms: Record<string, number>) => {
      const sim = env.simulation;
      sim.ensureViews();
      frames.push({
        bodyPos: Array.from(sim.xpos.subarray(0, 3 * m.nbody)),
        bodyQuat: Array.from(sim.xquat.subarray(0, 4 * m.nbody)),
        reward,
        success,
        rewardTerms: Object.values(terms),
      });
    };
    const { obs, info } = env.reset({ seed });
    const initialTerms = env.task.rewardTerms(obs.achievedGoal, obs.desiredGoal);
    capture(0, info.isSuccess, initialTerms);
    const action = options.action ?? (env.actionSize === 4 ? [1, 0.6, 0.5, 1] : [1, 0.6, 0.5]);
    let total = 0;
    let success = info.isSuccess;
    for (let t = 0; t < (options.steps ?? 20); t++) {
      const step = env.step(action);
      total += step.reward;
      success = step.info.isSuccess;
      capture(step.reward, success, step.info.rewardTerms);
      if (step.terminated || step.truncated) break;
    }
    return {
      format: SCENE_REPLAY_FORMAT_VERSION,
      task,
      robot: env.robot.name,
      actor: options.actor ?? 'fixture',
      seed,
      ctrlDtSec: env.task.config.ctrlDtSec,
      success,
      return: total,
      bodies,
      geoms,
      rewardTermNames: Object.keys(initialTerms),
      frames,
    };
  } finally {
    env.close();
  }
}

/** Writes `replay` as episode `index` into `dir` (made if missing). */
export function writeSceneReplayFixture(dir: string, index: number, replay: SceneReplay): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, sceneReplayFileName(index));
  writeFileSync(file, JSON.stringify(replay));
  return file;
}

/** A run folder with run.json and eval lines in metrics.jsonl (`evals`: [env step, success rate]). */
export function writeRunFixture(
  runsRoot: string,
  name: string,
  info: { task: string; algo: string; seed: number; status?: 'running' | 'finished' | 'failed' },
  evals: readonly [number, number][],
): string {
  const dir = join(runsRoot, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), `task: ${info.task}\nalgo: ${info.algo}\nseed: ${info.seed}\n`);
  const last = evals.at(-1)?.[0] ?? 0;
  writeFileSync(
    join(dir, 'run.json'),
    JSON.stringify({
      task: info.task,
      robot: 'panda',
      algo: info.algo,
      seed: info.seed,
      inputSize: 9,
      actionSize: 3,
      status: info.status ?? 'finished',
      started: '2026-01-01T00:00:00.000Z',
      updated: '2026-01-01T00:10:00.000Z',
      envSteps: last,
    }),
  );
  writeFileSync(
    join(dir, 'metrics.jsonl'),
    evals
      .map(([step, rate]) =>
        JSON.stringify({
          kind: 'eval',
          step,
          'eval/success_rate': rate,
          'eval/mean_return': -10 * (1 - rate),
        }),
      )
      .join('\n'),
  );
  return dir;
}

/** A stored prior version (as `prior generate` would leave it), with an evaluation. */
export function writePriorFixture(
  priorsRoot: string,
  task: string,
  code: string,
  options: { parent?: number | null; feedback?: string | null; successRate?: number } = {},
): number {
  const store = new PriorStore(priorsRoot);
  const version = store.create(task, {
    code,
    reply: `\`\`\`javascript\n${code}\n\`\`\``,
    request: { params: { messages: [] } },
    feedback: options.feedback ?? null,
    parent: options.parent ?? null,
    source: 'llm',
    model: 'fixture-model',
  });
  const rate = options.successRate ?? 0.5;
  store.saveEvaluation(task, version, {
    successRate: rate,
    episodes: 4,
    seeds: [1000, 1001, 1002, 1003],
    meanReturn: -5,
    summary: `success rate: ${Math.round(4 * rate)}/4\nfailures: stopped short of the goal in height`,
    perEpisode: [],
  });
  return version;
}
