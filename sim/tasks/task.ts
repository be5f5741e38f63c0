import { z } from 'zod';
import type { Rng } from '../../src/core/rng.js';
import type { CartesianArm } from '../arm.js';
import type { Simulation } from '../mujoco/simulation.js';

/** The table under the task: its top is the task frame's z = 0, its centre at x = xOffsetM. */
export function tableSchema(defaults: { lengthM: number; xOffsetM: number }) {
  return z
    .object({
      lengthM: z.number().positive().max(5).default(defaults.lengthM),
      widthM: z.number().positive().max(5).default(0.7),
      heightM: z.number().positive().max(2).default(0.4),
      xOffsetM: z.number().min(-5).max(5).default(defaults.xOffsetM),
    })
    .strict()
    .prefault({});
}

/** Settings every task has (`config/tasks/<task>.yaml`); task-specific ones extend this. */
export const TaskCommonSchema = z.object({
  /** Episode length in control steps; reaching it truncates the episode (panda-gym: 50). */
  maxEpisodeSteps: z.number().int().positive().max(100_000).default(50),
  /** Goal tolerance (m): success when the achieved goal is closer than this to the desired one. */
  distanceThresholdM: z.number().positive().max(1).default(0.05),
  /** `sparse`: -1 until success, then 0 (panda-gym). `dense`: the weighted sum of the reward terms. */
  rewardType: z.enum(['sparse', 'dense']).default('sparse'),
  /** Weight of each named reward term in the dense reward. Terms depend on goals only, so HER can relabel them. */
  rewardScales: z.record(z.string(), z.number().min(-1000).max(1000)).default({}),
  /** Control period (s): one env step. At most 1 s, so one step is at most 10,000 physics steps. */
  ctrlDtSec: z.number().positive().max(1).default(0.04),
  /** Physics timestep (s); ctrlDtSec must be a whole multiple of it. */
  simDtSec: z.number().min(0.0001).max(0.1).default(0.002),
  /** Whether the episode ends (terminated) as soon as the goal is reached; panda-gym: no. */
  terminateOnSuccess: z.boolean().default(false),
  /** The table (panda-gym: 1.1 × 0.7 × 0.4 m, centred 0.3 m behind the task origin). */
  table: tableSchema({ lengthM: 1.1, xOffsetM: -0.3 }),
});

export type TaskCommonConfig = z.output<typeof TaskCommonSchema>;

/** A registered task kind: its config schema and how to build it from a validated config. */
export interface TaskDefinition<S extends z.ZodType<TaskCommonConfig> = z.ZodType<TaskCommonConfig>> {
  readonly name: string;
  /** One line for `armprior tasks`. */
  readonly description: string;
  readonly schema: S;
  create(config: z.output<S>): Task;
}

/** One named slice of a vector (observation or goal), documented for people and for LLM prompts. */
export interface VectorField {
  readonly name: string;
  readonly size: number;
  readonly unit: string;
  readonly description: string;
}

/** What a task works with once the scene is compiled. */
export interface TaskContext {
  readonly sim: Simulation;
  readonly arm: CartesianArm;
}

/**
 * A manipulation task: its part of the scene, its reset distribution, its observation, its goal
 * and its reward. The env (sim/env.ts) supplies the arm, the stepping and the Gymnasium API.
 */
export interface Task {
  readonly name: string;
  readonly config: TaskCommonConfig;
  /** Whether the action has a 4th value commanding the gripper (else the gripper stays closed). */
  readonly usesGripper: boolean;
  /** Task part of the observation (after the arm's part). */
  readonly observationFields: readonly VectorField[];
  readonly goalFields: readonly VectorField[];
  /** MJCF for the task's bodies, placed inside the task frame (origin: table-top centre). */
  sceneXml(): string;
  /** Resolves ids once the scene is compiled. */
  bind(ctx: TaskContext): void;
  /** Samples and places objects and goal (qpos, mocap); `goal` receives the desired goal. */
  reset(ctx: TaskContext, rng: Rng, goal: Float64Array): void;
  /** Writes the task part of the observation at `offset`. */
  observe(ctx: TaskContext, out: Float64Array, offset: number): void;
  /** Writes the achieved goal. */
  achievedGoal(ctx: TaskContext, out: Float64Array): void;
  /** Raw reward terms, functions of the goals only (named, unscaled). */
  rewardTerms(achieved: ArrayLike<number>, desired: ArrayLike<number>): Record<string, number>;
  isSuccess(achieved: ArrayLike<number>, desired: ArrayLike<number>): boolean;
}

/** Sparse or dense reward from a task's terms and config, shared by every task. */
export function computeTaskReward(
  task: Task,
  achieved: ArrayLike<number>,
  desired: ArrayLike<number>,
): number {
  if (task.config.rewardType === 'sparse') return task.isSuccess(achieved, desired) ? 0 : -1;
  return rewardFromTerms(task, false, task.rewardTerms(achieved, desired));
}

/** The least and greatest reward a step can give, where they are known: the sparse reward's −1 and 0. */
export function rewardRange(task: Task): [number, number] | undefined {
  return task.config.rewardType === 'sparse' ? [-1, 0] : undefined;
}

/**
 * The same reward from an already computed success flag and reward terms (env.step has both,
 * and computes neither twice).
 */
export function rewardFromTerms(
  task: Task,
  success: boolean,
  terms: Readonly<Record<string, number>>,
): number {
  if (task.config.rewardType === 'sparse') return success ? 0 : -1;
  let reward = 0;
  for (const [name, value] of Object.entries(terms)) reward += (task.config.rewardScales[name] ?? 0) * value;
  return reward;
}

/** Euclidean distance between two 3-vectors. */
export function distance3(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const dx = a[0]! - b[0]!;
  const dy = a[1]! - b[1]!;
  const dz = a[2]! - b[2]!;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

/** Formats a number for MJCF attributes. */
export function f(x: number): string {
  return Number(x.toFixed(6)).toString();
}
