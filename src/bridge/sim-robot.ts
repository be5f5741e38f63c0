import { ArmEnv } from '../../sim/env.js';
import type { RobotConfig } from '../robot-config/robot-config.js';
import type {
  JointCommand,
  ObjectState,
  Robot,
  RobotLink,
  RobotSpec,
  RobotState,
  StopOutcome,
} from './robot.js';

export interface SimRobotOptions {
  task: string;
  robot: RobotConfig;
  /** Seed of the first episode; episode k uses seed + k. */
  seed: number;
  /** The control loop's clock (ms): the physics is advanced to it on every call, in real time. */
  now: () => number;
}

/**
 * The simulated arm behind the same {@link Robot} contract as hardware: it takes joint velocity
 * commands (a ros_control velocity group's semantics: each joint's servo target moves at the
 * commanded speed) and reports joint states, the object's pose and the goal. Its physics runs
 * in real time on the loop's clock: every call first steps it up to `now()`, so under a virtual
 * clock (tests) it is exactly reproducible.
 */
export class SimRobot implements Robot {
  readonly spec: RobotSpec;
  private readonly targets: Float64Array;
  private readonly velocities: Float64Array;
  /** Scratch for the measured joint positions in the physics loop. */
  private readonly positions: Float64Array;
  private readonly maxLeadRad: Float64Array;
  private readonly simDtMs: number;
  /** How long a velocity command is executed without a newer one (ms); see {@link advance}. */
  private readonly commandTimeoutMs: number;
  /** Physics time at which the last command arrived. */
  private lastCommandMs: number;
  private gripper: number | undefined;
  private simTimeMs: number;
  private episode = 0;
  private readonly faultListeners: ((reason: string) => void)[] = [];
  private faulted = false;
  private closed = false;
  /** Physics time dropped because the process stalled longer than {@link MAX_CATCH_UP_MS}. */
  droppedMs = 0;

  private constructor(
    private readonly env: ArmEnv,
    private readonly options: SimRobotOptions,
  ) {
    const n = options.robot.arm.joints.length;
    this.spec = {
      name: options.robot.name,
      jointNames: options.robot.arm.joints,
      hasGripper: env.task.usesGripper,
    };
    this.targets = new Float64Array(n);
    this.velocities = new Float64Array(n);
    this.positions = new Float64Array(n);
    // A servo target may lead the joint by at most 50 ms at full speed, so an arm pressed against
    // the table or the cube does not wind up a target it would then jump to.
    this.maxLeadRad = Float64Array.from(options.robot.arm.maxJointVelRadPerSec, (v) => v * 0.05);
    this.simDtMs = env.task.config.simDtSec * 1000;
    this.commandTimeoutMs = options.robot.safety.workspaceLookaheadSec * 1000;
    this.simTimeMs = options.now();
    this.lastCommandMs = this.simTimeMs;
    this.startEpisode();
  }

  static async create(options: SimRobotOptions): Promise<SimRobot> {
    const env = await ArmEnv.create({ task: options.task, robot: options.robot, seed: options.seed });
    return new SimRobot(env, options);
  }

  async connect(): Promise<void> {}

  link(): RobotLink {
    return 'connected';
  }

  onFault(listener: (reason: string) => void): void {
    this.faultListeners.push(listener);
  }

  observe(): RobotState | undefined {
    if (!this.advance()) return undefined;
    const arm = this.env.armState();
    const obs = this.env.currentObservation();
    const state: { -readonly [K in keyof RobotState]: RobotState[K] } = {
      stampMs: this.simTimeMs,
      jointPositions: arm.jointPositions,
      jointVelocities: arm.jointVelocities,
      goalPositionM: obs.desiredGoal,
    };
    if (arm.gripperWidthM !== undefined) state.gripperWidthM = arm.gripperWidthM;
    const object = objectStateOf(this.env, obs.observation);
    if (object) state.object = object;
    return state;
  }

  act(command: JointCommand): JointCommand | undefined {
    if (!this.advance()) return undefined;
    this.velocities.set(command.jointVelocities);
    this.lastCommandMs = this.simTimeMs;
    if (command.gripper !== undefined) this.gripper = command.gripper;
    return command;
  }

  async stop(): Promise<StopOutcome> {
    this.advance();
    this.velocities.fill(0);
    // Hold where the arm is now, not where the targets had run ahead to.
    if (!this.closed) this.targets.set(this.env.armState().jointPositions);
    // The simulation takes the hold at once: there is no link to lose and no state to wait for.
    return { kind: 'confirmed', detail: 'the simulated arm holds its position' };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.env.close();
  }

  /** Re-places the scene from the next seed and puts the arm back home. */
  newEpisode(): void {
    this.episode++;
    this.startEpisode();
  }

  /** The seed of the episode in progress. */
  get episodeSeed(): number {
    return this.options.seed + this.episode;
  }

  private startEpisode(): void {
    this.env.reset({ seed: this.episodeSeed });
    this.targets.set(this.env.armState().jointPositions);
    this.velocities.fill(0);
    this.gripper = undefined;
    this.simTimeMs = this.options.now();
    this.lastCommandMs = this.simTimeMs;
  }

  /**
   * Steps the physics up to the loop clock; false once the simulation has failed. A command is
   * executed for at most the safety filter's workspace lookahead; without a newer one the arm then
   * holds, as a robot-side command timeout makes it. The filter scales each command so that the
   * end-effector stays in the box for that long at that velocity: with a host that stalls (a
   * loaded machine: the next tick hundreds of ms late), the last command ran on and took the arm
   * 3.5 cm through the ceiling.
   */
  private advance(): boolean {
    if (this.faulted || this.closed) return false;
    const now = this.options.now();
    if (now - this.simTimeMs > MAX_CATCH_UP_MS) {
      this.droppedMs += now - this.simTimeMs - MAX_CATCH_UP_MS;
      this.simTimeMs = now - MAX_CATCH_UP_MS;
    }
    const dtSec = this.simDtMs / 1000;
    try {
      while (this.simTimeMs + this.simDtMs <= now) {
        const q = this.positions;
        this.env.armJointPositions(q);
        const commanded = this.simTimeMs - this.lastCommandMs < this.commandTimeoutMs;
        for (let i = 0; i < this.targets.length; i++) {
          const lead = this.maxLeadRad[i]!;
          const t = this.targets[i]! + (commanded ? this.velocities[i]! * dtSec : 0);
          this.targets[i] = Math.max(q[i]! - lead, Math.min(q[i]! + lead, t));
        }
        this.env.stepJointTargets(this.targets, this.gripper, 1);
        this.simTimeMs += this.simDtMs;
      }
    } catch (error) {
      this.faulted = true;
      const reason = `simulated robot: ${error instanceof Error ? error.message : String(error)}`;
      for (const listener of this.faultListeners) listener(reason);
      return false;
    }
    return true;
  }
}

/** Longest stretch of physics run in one call to catch up with the clock (ms). */
const MAX_CATCH_UP_MS = 1000;

/** The object's pose and velocities from the env's observation, where the task has a free object. */
function objectStateOf(env: ArmEnv, observation: Float64Array): ObjectState | undefined {
  let at = 0;
  let found = -1;
  for (const field of env.observationFields) {
    if (field.name === 'objectPosition') found = at;
    at += field.size;
  }
  if (found < 0) return undefined;
  const [roll, pitch, yaw] = [observation[found + 3]!, observation[found + 4]!, observation[found + 5]!];
  return {
    positionM: observation.slice(found, found + 3),
    quaternionWxyz: quaternionFromEulerXyz(roll, pitch, yaw),
    linearVelocityMps: observation.slice(found + 6, found + 9),
    angularVelocityRadPerSec: observation.slice(found + 9, found + 12),
  };
}

/** Inverse of the observation's XYZ Euler angles (sim/tasks/free-object.ts). */
function quaternionFromEulerXyz(roll: number, pitch: number, yaw: number): Float64Array {
  const [cr, sr] = [Math.cos(roll / 2), Math.sin(roll / 2)];
  const [cp, sp] = [Math.cos(pitch / 2), Math.sin(pitch / 2)];
  const [cy, sy] = [Math.cos(yaw / 2), Math.sin(yaw / 2)];
  return Float64Array.of(
    cr * cp * cy + sr * sp * sy,
    sr * cp * cy - cr * sp * sy,
    cr * sp * cy + sr * cp * sy,
    cr * cp * sy - sr * sp * cy,
  );
}
