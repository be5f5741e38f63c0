import { z } from 'zod';
import type { Rng } from '../../src/core/rng.js';
import { FREE_OBJECT_FIELDS, FreeObject, GoalMarker } from './free-object.js';
import { distance3, type Task, type TaskCommonConfig, type TaskContext, type VectorField } from './task.js';

const GOAL_FIELDS: readonly VectorField[] = [
  { name: 'goalPosition', size: 3, unit: 'm', description: 'object centre (x, y, z), task frame' },
];

/** Config fields every object-goal task has; `objectSizeM` is the cube's edge or the puck's diameter. */
export function objectGoalConfigFields(defaults: { objectSizeM: number }) {
  return {
    /** Size of the object (m); panda-gym: a 0.04 m cube, a 0.06 m puck. */
    objectSizeM: z.number().positive().max(0.5).default(defaults.objectSizeM),
    /** Object mass (kg); panda-gym: 1. */
    objectMassKg: z.number().positive().max(100).default(1),
    /** Object start x, y ∈ ±objectXyRangeM/2 (panda-gym: 0.3). */
    objectXyRangeM: z.number().min(0).max(2).default(0.3),
    /** Goal x, y ∈ ±goalXyRangeM/2 (panda-gym: 0.3). */
    goalXyRangeM: z.number().min(0).max(2).default(0.3),
    rewardScales: z.record(z.string(), z.number().min(-1000).max(1000)).default({ goalDistance: -1 }),
  };
}

/**
 * Writes a position on the table into `out`: x, y uniform in ±rangeM/2 (x shifted by `xOffsetM`
 * where given), at height `z`: how panda-gym places objects and goals.
 */
export function sampleOnTable(
  rng: Rng,
  out: Float64Array,
  rangeM: number,
  z: number,
  xOffsetM?: number,
): void {
  const r = rangeM / 2;
  const x = rng.uniform(-r, r);
  out[0] = xOffsetM === undefined ? x : xOffsetM + x;
  out[1] = rng.uniform(-r, r);
  out[2] = z;
}

/** What distinguishes Push, Slide and PickAndPlace: the object, where things start, the gripper. */
export interface ObjectGoalSpec {
  readonly name: string;
  readonly usesGripper: boolean;
  /** MJCF of the free body "object" (with free joint "object_joint") and mocap body "target". */
  objectXml(): string;
  /** Samples the object's start position (task frame). */
  sampleObject(rng: Rng, out: Float64Array): void;
  /** Samples the goal (task frame). */
  sampleGoal(rng: Rng, out: Float64Array): void;
}

/**
 * Move an object to a goal position: the goal is the object's centre, the reward its distance
 * to the goal (panda-gym's Push, Slide and PickAndPlace share exactly this structure).
 */
export class ObjectGoalTask implements Task {
  readonly name: string;
  readonly usesGripper: boolean;
  readonly observationFields = FREE_OBJECT_FIELDS;
  readonly goalFields = GOAL_FIELDS;
  private readonly object = new FreeObject('object', 'object_joint');
  private readonly marker = new GoalMarker('target');
  private readonly start = new Float64Array(3);

  constructor(
    readonly config: TaskCommonConfig,
    private readonly spec: ObjectGoalSpec,
  ) {
    this.name = spec.name;
    this.usesGripper = spec.usesGripper;
  }

  sceneXml(): string {
    return this.spec.objectXml();
  }

  bind(ctx: TaskContext): void {
    this.object.bind(ctx, this.name);
    this.marker.bind(ctx, this.name);
  }

  reset(ctx: TaskContext, rng: Rng, goal: Float64Array): void {
    // panda-gym samples the goal first, then the object.
    this.spec.sampleGoal(rng, goal);
    this.spec.sampleObject(rng, this.start);
    this.object.place(ctx, this.start);
    this.marker.place(ctx, goal);
  }

  observe(ctx: TaskContext, out: Float64Array, offset: number): void {
    this.object.observe(ctx, out, offset);
  }

  achievedGoal(ctx: TaskContext, out: Float64Array): void {
    this.object.position(ctx, out, 0);
  }

  rewardTerms(achieved: ArrayLike<number>, desired: ArrayLike<number>): Record<string, number> {
    return { goalDistance: distance3(achieved, desired) };
  }

  isSuccess(achieved: ArrayLike<number>, desired: ArrayLike<number>): boolean {
    return distance3(achieved, desired) < this.config.distanceThresholdM;
  }
}
