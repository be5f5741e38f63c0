import { z } from 'zod';
import { ObjectGoalTask, objectGoalConfigFields, sampleOnTable } from './object-goal-task.js';
import { f, TaskCommonSchema, type TaskDefinition, tableSchema } from './task.js';

const SlideSchema = TaskCommonSchema.extend({
  /** objectSizeM: the puck's diameter (panda-gym: 0.06), its height half of it. */
  ...objectGoalConfigFields({ objectSizeM: 0.06 }),
  /** Sliding friction of the puck against the table (panda-gym: 0.04). */
  objectFriction: z.number().positive().max(10).default(0.04),
  /** Goals lie this far beyond the task origin in x, out of the arm's reach (panda-gym: 0.4). */
  goalXOffsetM: z.number().min(-2).max(2).default(0.4),
  /** panda-gym's Slide table is longer: 1.4 m, centred 0.1 m behind the origin. */
  table: tableSchema({ lengthM: 1.4, xOffsetM: -0.1 }),
}).strict();

/** Strike a low-friction puck so it slides to a goal out of reach (panda-gym PandaSlide). */
export const slideTask: TaskDefinition<typeof SlideSchema> = {
  name: 'slide',
  description: 'strike a low-friction puck so it slides to a goal out of reach (panda-gym PandaSlide)',
  schema: SlideSchema,
  create: (config) => {
    const radius = config.objectSizeM / 2;
    const halfHeight = config.objectSizeM / 4;
    return new ObjectGoalTask(config, {
      name: 'slide',
      usesGripper: false,
      objectXml: () => `<body name="object" pos="0 0 ${f(halfHeight)}">
      <freejoint name="object_joint"/>
      <geom name="object_geom" type="cylinder" size="${f(radius)} ${f(halfHeight)}" mass="${f(config.objectMassKg)}"
            friction="${f(config.objectFriction)} 0.001 0.0001" priority="1" rgba="0.1 0.9 0.1 1"/>
    </body>
    <body name="target" mocap="true" pos="0 0 ${f(halfHeight)}">
      <geom type="cylinder" size="${f(radius)} ${f(halfHeight)}" contype="0" conaffinity="0" rgba="0.1 0.9 0.1 0.3"/>
    </body>`,
      sampleObject: (rng, out) => sampleOnTable(rng, out, config.objectXyRangeM, halfHeight),
      sampleGoal: (rng, out) => sampleOnTable(rng, out, config.goalXyRangeM, halfHeight, config.goalXOffsetM),
    });
  },
};
