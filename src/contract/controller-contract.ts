import type { VectorField } from '../../sim/tasks/task.js';

/**
 * The controller contract: what an LLM-written (or bundled) prior controller is.
 *
 * A controller is one JavaScript module that exports `act(obs, ctx)`:
 *
 * ```js
 * export function act(obs, ctx) {
 *   // obs.eePosition, obs.objectPosition, obs.desiredGoal, ... (named fields, numbers or arrays)
 *   // ctx.step, ctx.dt, ctx.maxSteps, ctx.memory (per-episode object for phase machines)
 *   return [dx, dy, dz];            // or [dx, dy, dz, gripper] when the task uses the gripper
 * }
 * ```
 *
 * It runs in a sandbox with no host access; the helper functions of {@link HELPERS_SOURCE} are
 * globals there (`vec`, `clamp`, `towards`).
 *
 * The prompts describe this contract to the LLM and src/controllers runs code written to it, so
 * it sits below both (issue #18): neither has to import the other for it.
 */

/** An action starts with the end-effector displacement (dx, dy, dz), in [-1, 1] each. */
export const DISPLACEMENT_SIZE = 3;

/** Whether an action of this size ends with a gripper command (1 open … -1 closed) after the displacement. */
export function actionHasGripper(actionSize: number): boolean {
  return actionSize > DISPLACEMENT_SIZE;
}

/** Where each named observation field sits in the env's flat vectors. */
export interface ObservationLayout {
  readonly fields: readonly {
    name: string;
    offset: number;
    size: number;
    unit: string;
    description: string;
  }[];
  readonly observationSize: number;
  readonly goalSize: number;
  readonly goalFields: readonly VectorField[];
  readonly actionSize: number;
}

export function observationLayout(
  observationFields: readonly VectorField[],
  goalFields: readonly VectorField[],
  actionSize: number,
): ObservationLayout {
  let offset = 0;
  const fields = observationFields.map((f) => {
    const entry = { name: f.name, offset, size: f.size, unit: f.unit, description: f.description };
    offset += f.size;
    return entry;
  });
  return {
    fields,
    observationSize: offset,
    goalSize: goalFields.reduce((n, f) => n + f.size, 0),
    goalFields,
    actionSize,
  };
}

/** A named observation object: scalars for 1-value fields, arrays otherwise; plus both goals. */
export type NamedObservation = Record<string, number | number[]>;

/**
 * Builds the object a controller sees. `achievedGoal` and `desiredGoal` are arrays (also for
 * one-value goals, as the env's goal vectors).
 */
export function namedObservation(
  layout: ObservationLayout,
  observation: ArrayLike<number>,
  achievedGoal: ArrayLike<number>,
  desiredGoal: ArrayLike<number>,
): NamedObservation {
  const obs: NamedObservation = {};
  for (const f of layout.fields) {
    obs[f.name] =
      f.size === 1
        ? observation[f.offset]!
        : Array.from({ length: f.size }, (_, i) => observation[f.offset + i]!);
  }
  obs.achievedGoal = Array.from(achievedGoal);
  obs.desiredGoal = Array.from(desiredGoal);
  return obs;
}

/**
 * The helper API, as JavaScript source evaluated inside the sandbox (and documented in the
 * coding guidelines the LLM gets). Plain functions on arrays of numbers; no host access.
 */
export const HELPERS_SOURCE = `
const vec = Object.freeze({
  /** a + b, element-wise */
  add: (a, b) => a.map((x, i) => x + b[i]),
  /** a - b, element-wise */
  sub: (a, b) => a.map((x, i) => x - b[i]),
  /** a * k */
  scale: (a, k) => a.map((x) => x * k),
  /** Euclidean length */
  norm: (a) => Math.sqrt(a.reduce((s, x) => s + x * x, 0)),
  /** Euclidean distance between two points */
  dist: (a, b) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) * (x - b[i]), 0)),
  /** horizontal (x, y) distance between two points */
  distXY: (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]),
});
/** x limited to [low, high] */
const clamp = (x, low, high) => Math.min(high, Math.max(low, x));
/**
 * End-effector displacement action that moves from \`from\` toward \`to\` (3-D points, metres):
 * gain × (to - from), each axis clipped to [-1, 1]. One unit moves the gripper up to 5 cm.
 */
const towards = (from, to, gain = 10) => [0, 1, 2].map((i) => clamp(gain * (to[i] - from[i]), -1, 1));
`;
