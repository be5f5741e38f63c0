import { z } from 'zod';
import { ObjectGoalTask, objectGoalConfigFields, sampleOnTable } from './object-goal-task.js';
import { cubeXml } from './push.js';
import { TaskCommonSchema, type TaskDefinition } from './task.js';

const PickAndPlaceSchema = TaskCommonSchema.extend({
  ...objectGoalConfigFields({ objectSizeM: 0.04 }),
  /** Goal height above the table ∈ [0, goalZRangeM] (panda-gym: 0.2)… */
  goalZRangeM: z.number().min(0).max(2).default(0.2),
  /** …except with this probability, when the goal is on the table (panda-gym: 0.3). */
  goalOnTableProbability: z.number().min(0).max(1).default(0.3),
}).strict();

/** Pick up a cube and place it at a goal, often in the air (panda-gym PandaPickAndPlace). */
export const pickAndPlaceTask: TaskDefinition<typeof PickAndPlaceSchema> = {
  name: 'pick-and-place',
  description: 'grasp a cube and carry it to a goal, often in the air (panda-gym PandaPickAndPlace)',
  schema: PickAndPlaceSchema,
  create: (config) => {
    const half = config.objectSizeM / 2;
    return new ObjectGoalTask(config, {
      name: 'pick-and-place',
      usesGripper: true,
      objectXml: () => cubeXml(half, config.objectMassKg),
      sampleObject: (rng, out) => sampleOnTable(rng, out, config.objectXyRangeM, half),
      sampleGoal: (rng, out) => {
        sampleOnTable(rng, out, config.goalXyRangeM, half);
        const height = rng.uniform(0, config.goalZRangeM);
        out[2] = half + (rng.next() < config.goalOnTableProbability ? 0 : height);
      },
    });
  },
};
