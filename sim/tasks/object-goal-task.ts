import type { Rng } from '../../src/core/rng.js';
import { FREE_OBJECT_FIELDS, FreeObject, GoalMarker } from './free-object.js';
import { distance3, type Task, type TaskCommonConfig, type TaskContext, type VectorField } from './task.js';

const GOAL_FIELDS: readonly VectorField[] = [
  { name: 'goalPosition', size: 3, unit: 'm', description: 'object centre (x, y, z), task frame' },
];

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
