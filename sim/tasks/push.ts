import { z } from 'zod';
import { ObjectGoalTask } from './object-goal-task.js';
import { f, TaskCommonSchema, type TaskDefinition } from './task.js';

const PushSchema = TaskCommonSchema.extend({
  /** Edge of the cube (m); panda-gym: 0.04. */
  objectSizeM: z.number().positive().max(0.5).default(0.04),
  /** Cube mass (kg); panda-gym: 1. */
  objectMassKg: z.number().positive().max(100).default(1),
  /** Object start x, y ∈ ±objectXyRangeM/2 (panda-gym: 0.3). */
  objectXyRangeM: z.number().min(0).max(2).default(0.3),
  /** Goal x, y ∈ ±goalXyRangeM/2, on the table (panda-gym: 0.3). */
  goalXyRangeM: z.number().min(0).max(2).default(0.3),
  rewardScales: z.record(z.string(), z.number().min(-1000).max(1000)).default({ goalDistance: -1 }),
}).strict();

/** Push a cube across the table to a goal, gripper closed (panda-gym PandaPush). */
export const pushTask: TaskDefinition<typeof PushSchema> = {
  name: 'push',
  description: 'push a cube across the table to a goal, gripper closed (panda-gym PandaPush)',
  schema: PushSchema,
  create: (config) => {
    const half = config.objectSizeM / 2;
    return new ObjectGoalTask(config, {
      name: 'push',
      usesGripper: false,
      objectXml: () => cubeXml(half, config.objectMassKg),
      sampleObject: (rng, out) => {
        const r = config.objectXyRangeM / 2;
        out[0] = rng.uniform(-r, r);
        out[1] = rng.uniform(-r, r);
        out[2] = half;
      },
      sampleGoal: (rng, out) => {
        const r = config.goalXyRangeM / 2;
        out[0] = rng.uniform(-r, r);
        out[1] = rng.uniform(-r, r);
        out[2] = half;
      },
    });
  },
};

/** A graspable cube "object" and its see-through goal "target". */
export function cubeXml(half: number, massKg: number): string {
  return `<body name="object" pos="0 0 ${f(half)}">
      <freejoint name="object_joint"/>
      <geom name="object_geom" type="box" size="${f(half)} ${f(half)} ${f(half)}" mass="${f(massKg)}" rgba="0.1 0.9 0.1 1" condim="4" friction="1 0.05 0.001"/>
    </body>
    <body name="target" mocap="true" pos="0 0 ${f(half)}">
      <geom type="box" size="${f(half)} ${f(half)} ${f(half)}" contype="0" conaffinity="0" rgba="0.1 0.9 0.1 0.3"/>
    </body>`;
}
