import { ObjectGoalTask, objectGoalConfigFields, sampleOnTable } from './object-goal-task.js';
import { f, TaskCommonSchema, type TaskDefinition } from './task.js';

const PushSchema = TaskCommonSchema.extend(objectGoalConfigFields({ objectSizeM: 0.04 })).strict();

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
      sampleObject: (rng, out) => sampleOnTable(rng, out, config.objectXyRangeM, half),
      sampleGoal: (rng, out) => sampleOnTable(rng, out, config.goalXyRangeM, half),
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
