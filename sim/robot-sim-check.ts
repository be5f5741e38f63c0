import type { RobotConfig } from '../src/robot-config/robot-config.js';
import { siteElement } from '../src/robot-config/robot-yaml.js';
import { ArmEnv } from './env.js';
import { viewModel } from './robot-init/model-view.js';
import { tipFrame, tipInWorld } from './robot-init/tip-geometry.js';
import { taskNames } from './tasks/registry.js';

// `armprior robot check` for the simulated arm (issue #21): the robot model tried the way the
// tasks will use it, each check saying what failed and what to change. A new arm written for
// MuJoCo usually fails one of these first: its MJCF clashes with the task scenes, it sags or
// rings at rest, or the IK cannot reach the tasks' goals from its base and home posture.

export type SimCheckLevel = 'ok' | 'warning' | 'problem';

export interface SimCheckLine {
  check: 'scene' | 'site' | 'home' | 'hold' | 'reach';
  level: SimCheckLevel;
  text: string;
}

export interface SimCheckReport {
  robot: string;
  lines: SimCheckLine[];
  problems: number;
}

/** The home posture's gripper: its site's z axis within this angle of straight down. */
export const HOME_DOWN_DEG = 15;
/** The end-effector site counts as at the fingertips within this distance of the point between them (m). */
export const SITE_TOLERANCE_M = 0.015;
/** Holding still: drift over a second of zero actions, and the speed left at its end. */
export const HOLD_BOUNDS = { seconds: 1, driftM: 0.005, speedMps: 0.01 } as const;
/** Reaching: a goal counts as reached within this distance, in at most this many steps (and the episode's length). */
export const REACH_BOUNDS = { toleranceM: 0.01, maxSteps: 100 } as const;

export async function checkRobotInSim(robot: RobotConfig): Promise<SimCheckReport> {
  const lines: SimCheckLine[] = [];
  for (const task of taskNames()) lines.push(await sceneLine(robot, task));
  if (!lines.some((l) => l.level === 'problem')) {
    const env = await ArmEnv.create({ task: 'reach', robot });
    try {
      lines.push(siteLine(env));
      lines.push(homeLine(env));
      lines.push(holdLine(env));
      lines.push(reachLine(env));
    } finally {
      env.close();
    }
  }
  return { robot: robot.name, lines, problems: lines.filter((l) => l.level === 'problem').length };
}

/** The robot loads in the task's scene (names, joints, actuators, sites as the config says). */
async function sceneLine(robot: RobotConfig, task: string): Promise<SimCheckLine> {
  try {
    const env = await ArmEnv.create({ task, robot });
    env.close();
    return { check: 'scene', level: 'ok', text: `loads in the scene of ${task}` };
  } catch (error) {
    const message = (error as Error).message;
    if (/needs a gripper/.test(message))
      return { check: 'scene', level: 'warning', text: `${task}: skipped (${message})` };
    return { check: 'scene', level: 'problem', text: `${task}: ${message}` };
  }
}

/**
 * The tasks move the end-effector site onto goals and objects: a site away from the fingertips
 * (on the palm, say) makes the fingers miss them by as much (issue #21: a `grip` site 4 cm above
 * the fingertips made push impossible, and nothing said why). The point between the fingertips
 * is found as `robot init` finds it, from the geoms past the arm's last joint.
 */
function siteLine(env: ArmEnv): SimCheckLine {
  env.reset({ seed: 0 });
  const sim = env.simulation;
  const view = viewModel(sim.mj, sim.model);
  const where = `robot config '${env.robot.name}'`;
  const lastJoint = sim.id('joint', env.robot.arm.joints.at(-1)!, where);
  const fingers = env.robot.gripper?.joints.map((name) => view.jointBody[sim.id('joint', name, where)]!);
  const tip = tipFrame(sim, view, {
    lastJoint,
    tipBodies: fingers ? [...new Set(fingers)] : [view.jointBody[lastJoint]!],
    fingered: fingers !== undefined,
  });
  const site = env.robot.eeSite;
  if (!tip)
    return {
      check: 'site',
      level: 'warning',
      text: `no geom past the arm's last joint: cannot tell whether eeSite '${site}' is at the tip`,
    };
  const { point } = tipInWorld(sim, tip);
  const siteId = sim.id('site', site, where);
  const at = Array.from(sim.siteXpos.subarray(3 * siteId, 3 * siteId + 3));
  const distance = Math.hypot(...at.map((x, i) => x - point[i]!));
  const mm = (distance * 1000).toFixed(0);
  if (distance <= SITE_TOLERANCE_M)
    return {
      check: 'site',
      level: 'ok',
      text: fingers
        ? `eeSite '${site}' is at the fingertips (${mm} mm from the point between them)`
        : `eeSite '${site}' is at the tip (${mm} mm from its end)`,
    };
  return {
    check: 'site',
    level: 'problem',
    text: `eeSite '${site}' is ${mm} mm from ${fingers ? 'the point between the fingertips' : "the tip's end"}: the tasks move this site onto goals and objects, so the ${fingers ? 'fingers miss' : 'tip misses'} them by as much. Put a site there, ${siteElement('ee', tip.localPoint, tip.localAxis)} in body '${view.name('body', tip.body)}' (as \`armprior robot init\` does), and name it in eeSite`,
  };
}

/**
 * The arm holds the end effector's orientation at home for the whole episode, and the tasks
 * grasp and push from above: at home, the end-effector site's z axis must point down.
 */
function homeLine(env: ArmEnv): SimCheckLine {
  env.reset({ seed: 0 });
  const sim = env.simulation;
  const site = sim.id('site', env.robot.eeSite, `robot config '${env.robot.name}'`);
  // Row-major: the site's z axis in world coordinates is the rotation's third column.
  const downness = -sim.siteXmat[9 * site + 8]!;
  const degrees = (Math.acos(Math.max(-1, Math.min(1, downness))) * 180) / Math.PI;
  if (degrees <= HOME_DOWN_DEG)
    return {
      check: 'home',
      level: 'ok',
      text: `the gripper points down at home (${degrees.toFixed(1)}° off)`,
    };
  return {
    check: 'home',
    level: 'problem',
    text: `at home, eeSite '${env.robot.eeSite}' points ${degrees.toFixed(0)}° away from straight down (its z axis should point down; the arm keeps this orientation all episode): change arm.homeQpos so the gripper points down, or turn the site in the MJCF so its z axis runs along the gripper`,
  };
}

/** Zero actions from the home posture: the arm must stay where it is. */
function holdLine(env: ArmEnv): SimCheckLine {
  let obs = env.reset({ seed: 0 }).obs;
  const start = Array.from(obs.observation.subarray(0, 3));
  const steps = Math.round(HOLD_BOUNDS.seconds / env.task.config.ctrlDtSec);
  const zero = new Array(env.actionSize).fill(0);
  let drift = 0;
  for (let t = 0; t < steps; t++) {
    const result = env.step(zero);
    obs = result.obs;
    drift = Math.max(drift, Math.hypot(...start.map((x, i) => obs.observation[i]! - x)));
    if (result.info.simUnstable)
      return {
        check: 'hold',
        level: 'problem',
        text: `the physics went unstable within ${HOLD_BOUNDS.seconds} s of zero actions at home: check the joints' armature and damping, the actuator gains (kp, kv) against the bodies' masses, and the timestep`,
      };
    if (result.terminated || result.truncated) break;
  }
  const speed = Math.hypot(obs.observation[3]!, obs.observation[4]!, obs.observation[5]!);
  const measured = `drift ${(drift * 1000).toFixed(1)} mm, speed ${speed.toFixed(3)} m/s after ${HOLD_BOUNDS.seconds} s of zero actions`;
  if (drift <= HOLD_BOUNDS.driftM && speed <= HOLD_BOUNDS.speedMps)
    return { check: 'hold', level: 'ok', text: `holds still at home: ${measured}` };
  return {
    check: 'hold',
    level: 'problem',
    text: `does not hold still at home (${measured}; bounds ${HOLD_BOUNDS.driftM * 1000} mm, ${HOLD_BOUNDS.speedMps} m/s): give the joints damping (<joint damping="…">) and the position actuators gains that hold the arm against gravity (kp), or compensate gravity (<body gravcomp="1">)`,
  };
}

/**
 * The end effector driven in a straight line to points spread over Reach's goal box (its corners
 * and centre), as a policy would: each must come within the tolerance.
 */
function reachLine(env: ArmEnv): SimCheckLine {
  const missed: string[] = [];
  const points = reachPoints(env);
  const step = env.robot.control.maxEeStepM;
  for (const point of points) {
    let obs = env.reset({ seed: 0 }).obs;
    let distance = Number.POSITIVE_INFINITY;
    for (let t = 0; t < REACH_BOUNDS.maxSteps; t++) {
      const action = point.map((x, i) => Math.max(-1, Math.min(1, (x - obs.observation[i]!) / step)));
      const result = env.step(action);
      obs = result.obs;
      distance = Math.hypot(...point.map((x, i) => x - obs.observation[i]!));
      // The episode's end (its length, or physics gone unstable) ends the attempt too.
      if (distance <= REACH_BOUNDS.toleranceM || result.terminated || result.truncated) break;
    }
    if (distance > REACH_BOUNDS.toleranceM)
      missed.push(`(${point.map((x) => x.toFixed(2)).join(', ')}) ${(distance * 100).toFixed(1)} cm away`);
  }
  if (missed.length === 0)
    return {
      check: 'reach',
      level: 'ok',
      text: `reaches all ${points.length} test points of Reach's goal box within ${REACH_BOUNDS.toleranceM * 100} cm`,
    };
  return {
    check: 'reach',
    level: 'problem',
    text: `does not reach ${missed.length} of ${points.length} test points of Reach's goal box within ${REACH_BOUNDS.maxSteps} steps: ${missed.join('; ')}. Check basePos (where the arm's base stands relative to the table), the joint limits and arm.homeQpos (the posture the IK starts from), and that eeSite sits at the fingertips`,
  };
}

/** The corners and the centre of Reach's goal box, a little inside it. */
function reachPoints(env: ArmEnv): number[][] {
  const config = env.task.config as { goalXyRangeM?: number; goalZRangeM?: number };
  const xy = (0.9 * (config.goalXyRangeM ?? 0.3)) / 2;
  const zHigh = 0.9 * (config.goalZRangeM ?? 0.3);
  const zLow = 0.1 * (config.goalZRangeM ?? 0.3);
  const points = [[0, 0, (zLow + zHigh) / 2]];
  for (const x of [-xy, xy]) for (const y of [-xy, xy]) for (const z of [zLow, zHigh]) points.push([x, y, z]);
  return points;
}
