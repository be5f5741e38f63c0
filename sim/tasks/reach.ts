import { z } from 'zod';
import type { Rng } from '../../src/core/rng.js';
import { GoalMarker } from './free-object.js';
import {
  distance3,
  f,
  type Task,
  TaskCommonSchema,
  type TaskContext,
  type TaskDefinition,
  type VectorField,
} from './task.js';

const ReachSchema = TaskCommonSchema.extend({
  /** Goals are sampled in x, y ∈ ±goalXyRangeM/2 and z ∈ [0, goalZRangeM] (panda-gym: 0.3, 0.3). */
  goalXyRangeM: z.number().positive().max(2).default(0.3),
  goalZRangeM: z.number().positive().max(2).default(0.3),
  rewardScales: z.record(z.string(), z.number().min(-1000).max(1000)).default({ goalDistance: -1 }),
}).strict();

type ReachConfig = z.output<typeof ReachSchema>;

const GOAL_FIELDS: readonly VectorField[] = [
  { name: 'goalPosition', size: 3, unit: 'm', description: 'end-effector position (x, y, z), task frame' },
];

/** Move the end-effector to a target point in the air (panda-gym PandaReach). */
class Reach implements Task {
  readonly name = 'reach';
  readonly usesGripper = false;
  readonly observationFields: readonly VectorField[] = [];
  readonly goalFields = GOAL_FIELDS;
  private readonly marker = new GoalMarker('target');
  private readonly sample = new Float64Array(3);

  constructor(readonly config: ReachConfig) {}

  sceneXml(): string {
    return `<body name="target" mocap="true" pos="0 0 0.1">
      <geom type="sphere" size="${f(this.config.distanceThresholdM / 2)}" contype="0" conaffinity="0" rgba="0.1 0.9 0.1 0.3"/>
    </body>`;
  }

  bind(ctx: TaskContext): void {
    this.marker.bind(ctx, this.name);
  }

  reset(ctx: TaskContext, rng: Rng, goal: Float64Array): void {
    const xy = this.config.goalXyRangeM / 2;
    this.sample[0] = rng.uniform(-xy, xy);
    this.sample[1] = rng.uniform(-xy, xy);
    this.sample[2] = rng.uniform(0, this.config.goalZRangeM);
    goal.set(this.sample);
    this.marker.place(ctx, goal);
  }

  observe(): void {}

  achievedGoal(ctx: TaskContext, out: Float64Array): void {
    ctx.arm.eePosition(out, 0);
  }

  rewardTerms(achieved: ArrayLike<number>, desired: ArrayLike<number>): Record<string, number> {
    return { goalDistance: distance3(achieved, desired) };
  }

  isSuccess(achieved: ArrayLike<number>, desired: ArrayLike<number>): boolean {
    return distance3(achieved, desired) < this.config.distanceThresholdM;
  }
}

export const reachTask: TaskDefinition<typeof ReachSchema> = {
  name: 'reach',
  description: 'move the gripper to a target point in the air (panda-gym PandaReach)',
  schema: ReachSchema,
  create: (config) => new Reach(config),
};
