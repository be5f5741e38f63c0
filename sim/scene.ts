import { basename, dirname } from 'node:path';
import type { RobotConfig } from '../src/robot-config/robot-config.js';
import { type ModelSource, readModelFolder } from './mujoco/model-loader.js';
import { f, type Task } from './tasks/task.js';

/** Model folders already read, by path: 100 env creations should not re-read the disk 100 times. */
const folderCache = new Map<string, Map<string, Uint8Array>>();

/*
 * Contact options: elliptic friction cones and impratio 10 keep grasped objects from creeping
 * out of the fingers; multiccd gives flat convex contacts (the Slide puck on the table) several
 * contact points instead of one, without which the puck sank 1 cm into the table.
 */

/**
 * Arena for contacts and constraints. MuJoCo reserves 14 MiB per MjData unless the model says
 * otherwise; these scenes need far less, and a VecEnv worker holds several.
 */
const ARENA_MEMORY = '4M';

/**
 * The task's scene around the robot: the robot's MJCF is included unchanged, and the table,
 * objects and goal markers sit in a frame placed so that the robot base lands at `basePos` of
 * the task frame (origin at the table-top centre). The scene file is written beside the robot's
 * file so the robot's relative paths (meshdir, includes) resolve as they do on disk.
 */
export function buildScene(robot: RobotConfig, task: Task): ModelSource {
  const folder = dirname(robot.mjcfPath);
  let files = folderCache.get(folder);
  if (!files) {
    files = readModelFolder(folder);
    folderCache.set(folder, files);
  }
  const [bx, by, bz] = robot.basePos;
  const table = task.config.table;
  const xml = `<mujoco model="armprior-${task.name}">
  <include file="${basename(robot.mjcfPath)}"/>
  <option timestep="${f(task.config.simDtSec)}" cone="elliptic" impratio="10">
    <flag multiccd="enable"/>
  </option>
  <size memory="${ARENA_MEMORY}"/>
  <worldbody>
    <light name="sun" pos="0 0 3" dir="0 0 -1" directional="true"/>
    <frame name="task_frame" pos="${f(-bx)} ${f(-by)} ${f(-bz)}">
      <geom name="floor" type="plane" size="3 3 0.1" pos="0 0 ${f(-table.heightM)}" rgba="0.3 0.3 0.35 1"/>
      <geom name="table" type="box" size="${f(table.lengthM / 2)} ${f(table.widthM / 2)} ${f(table.heightM / 2)}"
            pos="${f(table.xOffsetM)} 0 ${f(-table.heightM / 2)}" rgba="0.75 0.75 0.72 1"/>
      ${task.sceneXml()}
    </frame>
  </worldbody>
</mujoco>`;
  return { displayName: `the '${task.name}' scene with robot MJCF ${robot.mjcfPath}`, xml, files };
}
