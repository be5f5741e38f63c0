import { EnvStateError, InvalidActionError, MjcfError, ModelMismatchError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';
import { loadRobotConfig, type RobotConfig } from '../src/robot-config/robot-config.js';
import { CartesianArm } from './arm.js';
import { compileModel } from './mujoco/model-loader.js';
import { getMujoco } from './mujoco/module.js';
import { Simulation } from './mujoco/simulation.js';
import { buildScene } from './scene.js';
import { createTask } from './tasks/registry.js';
import {
  computeTaskReward,
  rewardFromTerms,
  type Task,
  type TaskContext,
  type VectorField,
} from './tasks/task.js';

/** Goal-conditioned observation, as panda-gym / Gymnasium-Robotics. */
export interface GoalObservation {
  observation: Float64Array;
  achievedGoal: Float64Array;
  desiredGoal: Float64Array;
}

export interface StepInfo {
  isSuccess: boolean;
  /** Raw (unscaled) reward terms, by name. */
  rewardTerms: Record<string, number>;
  /** Present and true when the physics went unstable; the episode is then truncated. */
  simUnstable?: true;
  /** MuJoCo warnings behind an instability (e.g. mjWARN_BADQACC). */
  simWarnings?: string[];
}

export interface StepResult {
  obs: GoalObservation;
  reward: number;
  /** The episode reached a terminal state (only with `terminateOnSuccess`). */
  terminated: boolean;
  /** The episode was cut short: time limit or unstable physics. Bootstrapping continues. */
  truncated: boolean;
  info: StepInfo;
}

export interface EnvOptions {
  /** Task name (or alias) from the registry, or a built task. */
  task: string | Task;
  /** Robot name from config/robots, a path to a robot YAML, or a loaded config; default `panda`. */
  robot?: string | RobotConfig | undefined;
  /** Task config fields that replace those of config/tasks/<task>.yaml. */
  taskOverrides?: Record<string, unknown> | undefined;
  /** Seed used when `reset()` is first called without one; default 0. */
  seed?: number;
}

/** Sizes of the vectors an env for `task` exchanges, known without compiling its scene. */
export function envSpaces(task: Task): { observation: number; goal: number; action: number } {
  const fields = observationFieldsOf(task);
  return {
    observation: fields.reduce((n, field) => n + field.size, 0),
    goal: task.goalFields.reduce((n, field) => n + field.size, 0),
    action: task.usesGripper ? 4 : 3,
  };
}

/** The observation's named fields for a task: the arm's, then the task's (what a robot must report too). */
export function observationFieldsOf(task: Task): VectorField[] {
  return [...armFields(task.usesGripper), ...task.observationFields];
}

/** Observation fields of the arm, before the task's. */
function armFields(withGripper: boolean): VectorField[] {
  const fields: VectorField[] = [
    {
      name: 'eePosition',
      size: 3,
      unit: 'm',
      description: 'end-effector (between the fingertips) x, y, z, task frame',
    },
    { name: 'eeVelocity', size: 3, unit: 'm/s', description: 'end-effector linear velocity' },
  ];
  if (withGripper) {
    fields.push({
      name: 'gripperWidth',
      size: 1,
      unit: 'm',
      description: 'distance between the fingers (0 = closed)',
    });
  }
  return fields;
}

/**
 * A simulated manipulation task with Gymnasium's goal-conditioned API: the MuJoCo scene, the
 * Cartesian arm and the task. Same seed → bit-identical observations.
 *
 * Action: `[dx, dy, dz]` in [-1, 1] (end-effector displacement, × `control.maxEeStepM` per
 * step), plus a gripper command (1 open … -1 closed) when the task uses the gripper.
 * One step is `ctrlDtSec` of simulated time, i.e. `ctrlDtSec / simDtSec` physics steps.
 */
export class ArmEnv {
  readonly task: Task;
  readonly robot: RobotConfig;
  readonly observationFields: readonly VectorField[];
  readonly observationSize: number;
  readonly goalSize: number;
  readonly actionSize: number;
  readonly substeps: number;
  private readonly sim: Simulation;
  private readonly arm: CartesianArm;
  private readonly ctx: TaskContext;
  private readonly desiredGoal: Float64Array;
  private readonly armObservationSize: number;
  private rng: Rng;
  private stepsInEpisode = 0;
  private episodeActive = false;
  private closed = false;
  private lastObservation: GoalObservation | undefined;

  /** Builds the scene and compiles it (loads mujoco-js on first use in this thread). */
  static async create(options: EnvOptions): Promise<ArmEnv> {
    const mj = await getMujoco();
    const task =
      typeof options.task === 'string' ? createTask(options.task, options.taskOverrides) : options.task;
    const robot =
      options.robot === undefined || typeof options.robot === 'string'
        ? loadRobotConfig(options.robot)
        : options.robot;
    if (task.usesGripper && !robot.gripper) {
      throw new ModelMismatchError(
        `task '${task.name}' needs a gripper, and robot '${robot.name}' names none`,
      );
    }
    const model = compileScene(mj, robot, task);
    let sim: Simulation | undefined;
    try {
      sim = new Simulation(mj, model);
      return new ArmEnv(sim, task, robot, options.seed ?? 0);
    } catch (error) {
      if (sim) sim.dispose();
      else model.delete();
      throw error;
    }
  }

  private constructor(sim: Simulation, task: Task, robot: RobotConfig, seed: number) {
    this.sim = sim;
    this.task = task;
    this.robot = robot;
    const ratio = task.config.ctrlDtSec / task.config.simDtSec;
    this.substeps = Math.round(ratio);
    if (Math.abs(ratio - this.substeps) > 1e-9 || this.substeps < 1) {
      throw new ModelMismatchError(
        `task '${task.name}': ctrlDtSec (${task.config.ctrlDtSec}) must be a whole multiple of simDtSec (${task.config.simDtSec})`,
      );
    }
    this.arm = new CartesianArm(sim, robot, task.config.ctrlDtSec);
    this.ctx = { sim, arm: this.arm };
    task.bind(this.ctx);
    this.observationFields = observationFieldsOf(task);
    this.armObservationSize = task.usesGripper ? 7 : 6;
    this.observationSize = this.observationFields.reduce((n, field) => n + field.size, 0);
    this.goalSize = task.goalFields.reduce((n, field) => n + field.size, 0);
    this.actionSize = task.usesGripper ? 4 : 3;
    this.desiredGoal = new Float64Array(this.goalSize);
    this.rng = Rng.fromSeed(seed);
  }

  /** Starts an episode. With a seed, reseeds the env's RNG first (Gymnasium semantics). */
  reset(options: { seed?: number } = {}): { obs: GoalObservation; info: { isSuccess: boolean } } {
    this.assertOpen();
    if (options.seed !== undefined) this.rng = Rng.fromSeed(options.seed);
    const { sim, arm, task } = this;
    sim.ensureViews();
    sim.resetData();
    arm.resetToHome(task.usesGripper);
    task.reset(this.ctx, this.rng, this.desiredGoal);
    sim.forward();
    arm.capturePose();
    arm.invalidate();
    this.stepsInEpisode = 0;
    this.episodeActive = true;
    const obs = this.observe();
    this.lastObservation = obs;
    return { obs, info: { isSuccess: task.isSuccess(obs.achievedGoal, obs.desiredGoal) } };
  }

  /** Applies one action for `ctrlDtSec`. Throws {@link InvalidActionError} on a bad action. */
  step(action: ArrayLike<number>): StepResult {
    this.assertOpen();
    if (!this.episodeActive)
      throw new EnvStateError('step() called before reset() or after the episode ended');
    this.checkAction(action);
    const { sim, arm, task } = this;
    sim.ensureViews();
    arm.applyAction(action[0]!, action[1]!, action[2]!, task.usesGripper ? action[3]! : undefined);
    sim.step(this.substeps);
    arm.invalidate();
    this.stepsInEpisode++;
    // MuJoCo resets the data by itself when the state blows up (bad qpos/qvel/qacc) and counts
    // a warning; reset() clears the counts, so any count means this episode went unstable.
    let unstable = sim.instabilityWarningCount() > 0;
    let obs = this.observe();
    if (!unstable && !(allFinite(obs.observation) && allFinite(obs.achievedGoal))) unstable = true;
    if (unstable) {
      obs = this.lastObservation ?? obs;
      this.episodeActive = false;
      const warnings = sim.raisedWarnings();
      return {
        obs,
        reward: computeTaskReward(task, obs.achievedGoal, obs.desiredGoal),
        terminated: false,
        truncated: true,
        info: {
          isSuccess: false,
          rewardTerms: task.rewardTerms(obs.achievedGoal, obs.desiredGoal),
          simUnstable: true,
          simWarnings: warnings.length > 0 ? warnings : ['non-finite state'],
        },
      };
    }
    this.lastObservation = obs;
    const success = task.isSuccess(obs.achievedGoal, obs.desiredGoal);
    const terminated = task.config.terminateOnSuccess && success;
    const truncated = !terminated && this.stepsInEpisode >= task.config.maxEpisodeSteps;
    if (terminated || truncated) this.episodeActive = false;
    const rewardTerms = task.rewardTerms(obs.achievedGoal, obs.desiredGoal);
    return {
      obs,
      reward: rewardFromTerms(task, success, rewardTerms),
      terminated,
      truncated,
      info: { isSuccess: success, rewardTerms },
    };
  }

  /** The current goal observation, without stepping. */
  currentObservation(): GoalObservation {
    this.assertOpen();
    this.sim.ensureViews();
    return this.observe();
  }

  /** Writes the arm's joint positions into `out` (no allocation: the simulated robot's physics loop). */
  armJointPositions(out: Float64Array): void {
    this.sim.ensureViews();
    this.arm.jointPositions(out);
  }

  /** The arm's joint state and finger opening, as a robot reports them (src/bridge/sim-robot.ts). */
  armState(): { jointPositions: Float64Array; jointVelocities: Float64Array; gripperWidthM?: number } {
    this.assertOpen();
    this.sim.ensureViews();
    const n = this.robot.arm.joints.length;
    const jointPositions = new Float64Array(n);
    const jointVelocities = new Float64Array(n);
    this.arm.jointPositions(jointPositions);
    this.arm.jointVelocities(jointVelocities);
    return this.arm.hasGripper
      ? { jointPositions, jointVelocities, gripperWidthM: this.arm.gripperWidth() }
      : { jointPositions, jointVelocities };
  }

  /**
   * Advances the physics by `substeps` with the arm's servo targets given in joint space, for
   * the simulated robot of `armprior run`, driven by joint velocities like hardware. Does not
   * count episode steps. Throws {@link EnvStateError} when the physics went unstable.
   */
  stepJointTargets(targets: ArrayLike<number>, gripperCommand: number | undefined, substeps: number): void {
    this.assertOpen();
    const { sim, arm } = this;
    sim.ensureViews();
    arm.setJointTargets(targets);
    if (gripperCommand !== undefined) arm.setGripper(gripperCommand);
    sim.step(substeps);
    arm.invalidate();
    if (sim.instabilityWarningCount() > 0) {
      throw new EnvStateError(`the simulation went unstable (${sim.raisedWarnings().join(', ')})`);
    }
  }

  /** Reward for any pair of goals (for HER relabelling); the same function `step` uses. */
  computeReward(achievedGoal: ArrayLike<number>, desiredGoal: ArrayLike<number>): number {
    return computeTaskReward(this.task, achievedGoal, desiredGoal);
  }

  /** Frees the MuJoCo model and data. The env cannot be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sim.dispose();
  }

  /** Control steps taken in the current episode. */
  get elapsedSteps(): number {
    return this.stepsInEpisode;
  }

  /** The physics model's timestep and the simulation, for benchmarks and advanced use. */
  get simulation(): Simulation {
    return this.sim;
  }

  private observe(): GoalObservation {
    const observation = new Float64Array(this.observationSize);
    const achievedGoal = new Float64Array(this.goalSize);
    this.arm.eePosition(observation, 0);
    this.arm.eeVelocity(observation, 3);
    if (this.task.usesGripper) observation[6] = this.arm.gripperWidth();
    this.task.observe(this.ctx, observation, this.armObservationSize);
    this.task.achievedGoal(this.ctx, achievedGoal);
    return { observation, achievedGoal, desiredGoal: this.desiredGoal.slice() };
  }

  private checkAction(action: ArrayLike<number>): void {
    if (action === null || typeof action !== 'object' || typeof action.length !== 'number') {
      throw new InvalidActionError(
        `action must be an array of ${this.actionSize} numbers, got ${String(action)}`,
      );
    }
    if (action.length !== this.actionSize) {
      throw new InvalidActionError(
        `task '${this.task.name}' takes actions of ${this.actionSize} values (${this.task.usesGripper ? 'dx, dy, dz, gripper' : 'dx, dy, dz'}), got ${action.length}`,
      );
    }
    for (let i = 0; i < action.length; i++) {
      const value = action[i];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new InvalidActionError(`action[${i}] is ${String(value)}; every value must be a finite number`);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new EnvStateError('the env is closed');
  }
}

function allFinite(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

/**
 * The task's scene with the robot in it. A robot MJCF written as a whole scene (its own floor,
 * table, lights) clashes with the names the task scene adds; MuJoCo then says only "repeated
 * name": say why, and what to change (issue #21).
 */
function compileScene(mj: Parameters<typeof compileModel>[0], robot: RobotConfig, task: Task) {
  try {
    return compileModel(mj, buildScene(robot, task));
  } catch (error) {
    const clash =
      error instanceof MjcfError ? /repeated name '([^']+)' in (\w+)/.exec(error.mujocoMessage) : null;
    if (!clash) throw error;
    throw new MjcfError(
      error instanceof MjcfError ? error.file : robot.mjcf,
      `${(error as MjcfError).mujocoMessage}: the ${clash[2]} '${clash[1]}' is in both the robot's MJCF (${robot.mjcf}) and the scene of task '${task.name}', which adds its own floor, table, lights and objects. Keep only the arm (its bodies, joints, actuators, sites) in the robot's MJCF, or rename '${clash[1]}'`,
      { cause: error },
    );
  }
}
