import type { RobotConfig } from '../robot-config/robot-config.js';
import type { JointCommand, RobotState } from './robot.js';

/**
 * The only place limits are enforced on what reaches a robot (issue #5). Every command, from a
 * prior or a policy, simulated arm or hardware, passes {@link SafetyFilter.filter}, which returns
 * the command that may be sent and which limits it had to enforce. In order:
 *
 * 1. non-finite values (NaN, ±∞): the whole command is replaced by zero velocity;
 * 2. joint speed limits: the whole vector is scaled down, so the end-effector keeps its direction;
 * 3. joint position limits: speed toward a limit falls linearly to zero over `jointLimitSlowdownRad`;
 * 4. the end-effector workspace box: the command is scaled so the end-effector, `lookaheadSec`
 *    ahead at this velocity, stays inside (motion back into the box is never held back);
 * 5. joint acceleration limits: the change from the previous command is scaled to at most
 *    maxAcc × dt per joint (after a pause, from zero, as the robot was then held still).
 */
export interface SafetyLimits {
  /** Usable joint range (the MJCF range minus the margin), arm joints in order. */
  readonly jointLow: Float64Array;
  readonly jointHigh: Float64Array;
  readonly maxVelRadPerSec: Float64Array;
  readonly maxAccRadPerSec2: Float64Array;
  readonly slowdownRad: number;
  readonly workspaceMin: readonly number[];
  readonly workspaceMax: readonly number[];
  readonly lookaheadSec: number;
}

/** Where the end-effector is and how a joint velocity would move it (the kinematic model). */
export interface EeKinematics {
  /** Takes the measured posture. */
  setState(state: RobotState): void;
  eePosition(out: Float64Array, offset?: number): void;
  eeVelocity(out: Float64Array, offset: number, jointVelocities: ArrayLike<number>): void;
}

/** A limit the filter enforced on one command; counted per kind in the loop's statistics. */
export type InterventionKind =
  | 'non_finite'
  | 'joint_velocity'
  | 'joint_acceleration'
  | 'joint_position'
  | 'workspace';

export interface FilteredCommand {
  readonly command: JointCommand;
  readonly interventions: readonly InterventionKind[];
}

/** Limits of a robot config: joint ranges from its model, speeds, accelerations and the box from its YAML. */
export function safetyLimitsOf(
  robot: RobotConfig,
  range: { low: Float64Array; high: Float64Array },
): SafetyLimits {
  const n = robot.arm.joints.length;
  const acc = robot.safety.maxJointAccRadPerSec2;
  return {
    jointLow: range.low,
    jointHigh: range.high,
    maxVelRadPerSec: Float64Array.from(robot.arm.maxJointVelRadPerSec),
    maxAccRadPerSec2: Array.isArray(acc) ? Float64Array.from(acc) : new Float64Array(n).fill(acc),
    slowdownRad: robot.safety.jointLimitSlowdownRad,
    workspaceMin: robot.control.workspaceMin,
    workspaceMax: robot.control.workspaceMax,
    lookaheadSec: robot.safety.workspaceLookaheadSec,
  };
}

export class SafetyFilter {
  private readonly previous: Float64Array;
  private previousAtMs: number | undefined;
  private readonly ee = new Float64Array(3);
  private readonly eeVel = new Float64Array(3);

  constructor(
    private readonly limits: SafetyLimits,
    private readonly kinematics: EeKinematics,
  ) {
    this.previous = new Float64Array(limits.jointLow.length);
  }

  /**
   * The command that may be sent now, given the measured `state`, the loop period `dtSec` and
   * the loop clock `nowMs` (a gap of more than three periods since the last command means the
   * robot was held still meanwhile: acceleration is then limited from zero).
   */
  filter(command: JointCommand, state: RobotState, dtSec: number, nowMs: number): FilteredCommand {
    const { limits } = this;
    const n = limits.jointLow.length;
    const interventions: InterventionKind[] = [];
    if (this.previousAtMs === undefined || nowMs - this.previousAtMs > 3 * dtSec * 1000)
      this.previous.fill(0);
    this.previousAtMs = nowMs;
    const v = Float64Array.from(command.jointVelocities);
    let gripper = command.gripper;
    if (v.length !== n || !allFinite(v) || (gripper !== undefined && !Number.isFinite(gripper))) {
      this.previous.fill(0);
      const hold: JointCommand = { jointVelocities: new Float64Array(n) };
      return { command: hold, interventions: ['non_finite'] };
    }
    if (gripper !== undefined) gripper = Math.max(-1, Math.min(1, gripper));

    let over = 1;
    for (let i = 0; i < n; i++) over = Math.max(over, Math.abs(v[i]!) / limits.maxVelRadPerSec[i]!);
    if (over > 1) {
      for (let i = 0; i < n; i++) v[i] = v[i]! / over;
      interventions.push('joint_velocity');
    }

    let nearLimit = false;
    for (let i = 0; i < n; i++) {
      const q = state.jointPositions[i]!;
      const toLimit = v[i]! > 0 ? limits.jointHigh[i]! - q : v[i]! < 0 ? q - limits.jointLow[i]! : Infinity;
      const allowed = limits.maxVelRadPerSec[i]! * Math.max(0, Math.min(1, toLimit / limits.slowdownRad));
      if (Math.abs(v[i]!) > allowed) {
        v[i] = Math.sign(v[i]!) * allowed;
        nearLimit = true;
      }
    }
    if (nearLimit) interventions.push('joint_position');

    const scale = this.workspaceScale(state, v);
    if (scale < 1) {
      for (let i = 0; i < n; i++) v[i] = v[i]! * scale;
      interventions.push('workspace');
    }

    let accOver = 1;
    for (let i = 0; i < n; i++) {
      accOver = Math.max(
        accOver,
        Math.abs(v[i]! - this.previous[i]!) / (limits.maxAccRadPerSec2[i]! * dtSec),
      );
    }
    if (accOver > 1) {
      for (let i = 0; i < n; i++) v[i] = this.previous[i]! + (v[i]! - this.previous[i]!) / accOver;
      interventions.push('joint_acceleration');
    }
    this.previous.set(v);
    const out: JointCommand =
      gripper === undefined ? { jointVelocities: v } : { jointVelocities: v, gripper };
    return { command: out, interventions };
  }

  /** Largest factor in [0, 1] keeping the end-effector, `lookaheadSec` ahead, inside the box. */
  private workspaceScale(state: RobotState, v: Float64Array): number {
    const { limits, ee, eeVel } = this;
    this.kinematics.setState(state);
    this.kinematics.eePosition(ee, 0);
    this.kinematics.eeVelocity(eeVel, 0, v);
    let scale = 1;
    for (let a = 0; a < 3; a++) {
      const step = eeVel[a]! * limits.lookaheadSec;
      if (step > 0) scale = Math.min(scale, Math.max(0, (limits.workspaceMax[a]! - ee[a]!) / step));
      else if (step < 0) scale = Math.min(scale, Math.max(0, (limits.workspaceMin[a]! - ee[a]!) / step));
    }
    return scale;
  }
}

/** A joint measured outside its model's range. */
export interface JointOutOfRange {
  /** Arm joint index. */
  readonly index: number;
  readonly positionRad: number;
  /** The model's range (the MJCF range, without `arm.jointLimitMarginRad`). */
  readonly lowRad: number;
  readonly highRad: number;
}

/**
 * The joints of a measured posture that lie outside the model's limits (issue #17). A run must
 * not start from there: the model and the robot disagree (an arm powered on at zero, a wrong
 * joint mapping, another model), so every command the IK and the safety filter compute is for an
 * arm that is not the one measured, and the filter keeps the joint pressed at its limit.
 *
 * `range` is the usable range (MJCF range minus `marginRad`), as `CartesianArm.jointRange()` gives.
 */
export function jointsOutsideModel(
  positions: ArrayLike<number>,
  range: { low: Float64Array; high: Float64Array },
  marginRad: number,
): JointOutOfRange[] {
  const out: JointOutOfRange[] = [];
  for (let i = 0; i < range.low.length; i++) {
    const q = positions[i]!;
    const lowRad = range.low[i]! - marginRad;
    const highRad = range.high[i]! + marginRad;
    if (!(q >= lowRad && q <= highRad)) out.push({ index: i, positionRad: q, lowRad, highRad });
  }
  return out;
}

function allFinite(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}
