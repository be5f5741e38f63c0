import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { loadYamlConfig } from '../core/config-file.js';
import { ConfigError, UnknownNameError } from '../core/errors.js';
import { configPath } from '../core/paths.js';
import { RosInterfaceSchema } from './ros-config.js';
import { RobotSafetySchema } from './safety-config.js';

const vec3 = z.tuple([z.number(), z.number(), z.number()]);
/** Joints an arm or a gripper may list: far above any arm's. */
const MAX_JOINTS = 32;

/**
 * `config/robots/<name>.yaml`: which parts of an MJCF model make the arm. Any MJCF that names
 * these parts runs the built-in tasks unchanged (say, a MuJoCo Menagerie arm).
 *
 * The same file holds what the bridge to a body needs (`safety:`, `ros:`), and sim validates the
 * whole file when it loads a robot, so the schema and its loader sit in a layer below both sim
 * and src/bridge (issue #18: sim imported the bridge's schemas before).
 */
export const RobotConfigSchema = z
  .object({
    /** Short name used on the command line. */
    name: z.string().min(1),
    /** One line for listings. */
    description: z.string().default(''),
    /** The robot's MJCF file, relative to this YAML file. Its folder is copied along (meshes, includes). */
    mjcf: z.string().min(1),
    /** Where the robot's base (MJCF world origin) sits in the task frame, whose origin is the table-top centre. */
    basePos: vec3.describe('metres, task frame'),
    /** Site whose position the end-effector actions move. */
    eeSite: z.string().min(1),
    arm: z.object({
      /** Arm joints, base to tip (hinge or slide). */
      joints: z.array(z.string()).min(1).max(MAX_JOINTS),
      /** One position actuator per arm joint, same order (ctrl is a joint position target). */
      actuators: z.array(z.string()).min(1).max(MAX_JOINTS),
      /** Joint positions at reset (rad or m). */
      homeQpos: z.array(z.number()).max(MAX_JOINTS),
      /** Joint speed limits (rad/s) applied to the IK's per-step displacement. */
      maxJointVelRadPerSec: z.array(z.number().positive()).max(MAX_JOINTS),
      /** Margin kept from each joint's MJCF range when commanding targets (rad). */
      jointLimitMarginRad: z.number().min(0).default(0.02),
    }),
    gripper: z
      .object({
        /** Finger joints; the gripper width is the sum of their positions. */
        joints: z.array(z.string()).min(1).max(MAX_JOINTS),
        /** Position actuators driving the fingers (all get the same ctrl). */
        actuators: z.array(z.string()).min(1).max(MAX_JOINTS),
        /** ctrl value for fully open. */
        openCtrl: z.number(),
        /** ctrl value for fully closed. */
        closedCtrl: z.number(),
      })
      .optional(),
    control: z.object({
      /** End-effector displacement for an action of 1.0 on an axis, per control step (m). panda-gym: 0.05. */
      maxEeStepM: z.number().positive().max(0.1).default(0.05),
      /** Damping λ of the damped-least-squares IK (larger: steadier near singularities, slower). */
      ikDamping: z.number().positive().default(0.05),
      /** Weight of orientation error against position error in the IK (1/m). */
      orientationWeight: z.number().min(0).default(0.5),
      /** Gain pulling redundant joints back to the home posture in the IK's null space. */
      nullspaceGain: z.number().min(0).max(1).default(0.1),
      /** Box the end-effector target is clipped to, in the task frame (m). */
      workspaceMin: vec3,
      workspaceMax: vec3,
    }),
    safety: RobotSafetySchema,
    ros: RosInterfaceSchema.optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const n = cfg.arm.joints.length;
    for (const key of ['actuators', 'homeQpos', 'maxJointVelRadPerSec'] as const) {
      if (cfg.arm[key].length !== n) {
        ctx.addIssue({
          code: 'custom',
          path: ['arm', key],
          message: `has ${cfg.arm[key].length} entries but arm.joints has ${n}`,
        });
      }
    }
    const acc = cfg.safety.maxJointAccRadPerSec2;
    if (Array.isArray(acc) && acc.length !== n) {
      ctx.addIssue({
        code: 'custom',
        path: ['safety', 'maxJointAccRadPerSec2'],
        message: `has ${acc.length} entries but arm.joints has ${n}`,
      });
    }
    const rosJoints = cfg.ros?.jointNames;
    if (rosJoints && rosJoints.length !== n) {
      ctx.addIssue({
        code: 'custom',
        path: ['ros', 'jointNames'],
        message: `has ${rosJoints.length} entries but arm.joints has ${n}`,
      });
    }
    const rosFingers = cfg.ros?.gripperJointNames;
    if (rosFingers && rosFingers.length !== (cfg.gripper?.joints.length ?? 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['ros', 'gripperJointNames'],
        message: `has ${rosFingers.length} entries but gripper.joints has ${cfg.gripper?.joints.length ?? 0}`,
      });
    }
    for (let i = 0; i < 3; i++) {
      if (cfg.control.workspaceMin[i]! >= cfg.control.workspaceMax[i]!) {
        ctx.addIssue({
          code: 'custom',
          path: ['control', 'workspaceMin', i],
          message: 'must be below workspaceMax',
        });
      }
    }
  });

export type RobotConfig = z.output<typeof RobotConfigSchema> & {
  /** Absolute path of the MJCF file, resolved against the YAML file's folder. */
  readonly mjcfPath: string;
};

/** Names of the robots in `config/robots/`. */
export function builtinRobotNames(): string[] {
  return readdirSync(configPath('robots'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/**
 * Loads a robot by built-in name (`panda`) or by path to a YAML file. A relative `mjcf` is
 * resolved against the YAML file's own folder; an MJCF file that is not there is a
 * {@link ConfigError} naming both files (issue #17: a template copied elsewhere kept
 * `../../sim/assets/panda.xml`, passed `robot check`, and `run` then died on ENOENT).
 */
export function loadRobotConfig(nameOrPath = 'panda'): RobotConfig {
  const isPath = nameOrPath.endsWith('.yaml') || nameOrPath.endsWith('.yml') || nameOrPath.includes('/');
  const file = isPath ? resolve(nameOrPath) : configPath('robots', `${nameOrPath}.yaml`);
  if (!isPath && !existsSync(file)) throw new UnknownNameError('robot', nameOrPath, builtinRobotNames());
  const cfg = loadYamlConfig(file, RobotConfigSchema);
  const mjcfPath = isAbsolute(cfg.mjcf) ? cfg.mjcf : resolve(dirname(file), cfg.mjcf);
  if (!isFile(mjcfPath)) {
    // The usual cause: a built-in config copied elsewhere, its path relative to config/robots/.
    const asBuiltin = isAbsolute(cfg.mjcf) ? undefined : resolve(configPath('robots'), cfg.mjcf);
    const hint =
      asBuiltin && asBuiltin !== mjcfPath && isFile(asBuiltin)
        ? `; relative to the built-in config/robots/ it would be ${asBuiltin}: write that absolute path`
        : '';
    throw new ConfigError(file, [
      `mjcf: ${cfg.mjcf} is ${mjcfPath}, which does not exist (a relative mjcf is resolved against the YAML file's folder, ${dirname(file)})${hint}`,
    ]);
  }
  return Object.freeze({ ...cfg, mjcfPath });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
