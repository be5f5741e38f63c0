import { InvalidActionError, ModelMismatchError } from '../src/core/errors.js';
import type { RobotConfig } from '../src/robot-config/robot-config.js';
import { DampedLeastSquaresIk, orientationError } from './ik.js';
import type { Simulation } from './mujoco/simulation.js';

/**
 * Cartesian end-effector control of the arm named by a robot config: an action (x, y, z
 * displacement in [-1, 1], scaled by `control.maxEeStepM`, plus an optional gripper command)
 * becomes joint position targets through damped-least-squares IK on MuJoCo's site Jacobian.
 * The gripper's orientation is held at its home orientation (pointing down, as in panda-gym).
 *
 * Positions in and out are in the task frame (origin at the table-top centre); the robot's
 * MJCF world is offset by `robot.basePos`.
 */
export class CartesianArm {
  readonly robot: RobotConfig;
  readonly hasGripper: boolean;
  private readonly sim: Simulation;
  private readonly eeSite: number;
  private readonly qposAdr: Int32Array;
  private readonly dofAdr: Int32Array;
  private readonly actuators: Int32Array;
  private readonly qLow: Float64Array;
  private readonly qHigh: Float64Array;
  private readonly maxDqPerStep: Float64Array;
  private readonly ctrlDtSec: number;
  private readonly home: Float64Array;
  private readonly gripperQposAdr: Int32Array;
  private readonly gripperActuators: Int32Array;
  private readonly ik: DampedLeastSquaresIk;
  /** Task frame origin minus world origin: world = task - basePos. */
  private readonly base: Float64Array;
  /**
   * The end-effector point the arm is commanded to (task frame). Tracking this point, rather
   * than adding each displacement to wherever the servos have got to, corrects their lag on
   * the next step instead of letting it accumulate as drift.
   */
  private readonly eeCommand = new Float64Array(3);
  /** Orientation the IK holds, captured at home. */
  private readonly desiredRot = new Float64Array(9);
  private readonly error = new Float64Array(6);
  private readonly dq: Float64Array;
  private readonly nullMotion: Float64Array;
  /** Whether the Jacobian buffers match the current state (reset after each physics step). */
  private jacobianFresh = false;

  constructor(sim: Simulation, robot: RobotConfig, ctrlDtSec: number) {
    this.sim = sim;
    this.robot = robot;
    this.ctrlDtSec = ctrlDtSec;
    const where = `robot config '${robot.name}'`;
    const m = sim.model;
    const jntType = m.jnt_type as Int32Array;
    const jntQposAdr = m.jnt_qposadr as Int32Array;
    const jntDofAdr = m.jnt_dofadr as Int32Array;
    const jntRange = m.jnt_range as Float64Array;
    const jntLimited = m.jnt_limited as Uint8Array;
    const hinge = (this.sim.mj.mjtJoint as unknown as Record<string, { value: number }>).mjJNT_HINGE!.value;
    const slide = (this.sim.mj.mjtJoint as unknown as Record<string, { value: number }>).mjJNT_SLIDE!.value;
    const n = robot.arm.joints.length;
    this.eeSite = sim.id('site', robot.eeSite, where);
    this.qposAdr = new Int32Array(n);
    this.dofAdr = new Int32Array(n);
    this.actuators = new Int32Array(n);
    this.qLow = new Float64Array(n);
    this.qHigh = new Float64Array(n);
    this.maxDqPerStep = new Float64Array(n);
    this.home = Float64Array.from(robot.arm.homeQpos);
    this.dq = new Float64Array(n);
    this.nullMotion = new Float64Array(n);
    robot.arm.joints.forEach((name, i) => {
      const j = sim.id('joint', name, where);
      if (jntType[j] !== hinge && jntType[j] !== slide) {
        throw new ModelMismatchError(`arm joint '${name}' must be a hinge or slide joint (${where})`);
      }
      this.qposAdr[i] = jntQposAdr[j]!;
      this.dofAdr[i] = jntDofAdr[j]!;
      this.actuators[i] = sim.id('actuator', robot.arm.actuators[i]!, where);
      checkDrives(sim, this.actuators[i]!, robot.arm.actuators[i]!, j, name, i, where);
      const margin = robot.arm.jointLimitMarginRad;
      const limited = jntLimited[j] === 1;
      this.qLow[i] = limited ? jntRange[2 * j]! + margin : -Infinity;
      this.qHigh[i] = limited ? jntRange[2 * j + 1]! - margin : Infinity;
      this.maxDqPerStep[i] = robot.arm.maxJointVelRadPerSec[i]! * ctrlDtSec;
      if (limited && (this.home[i]! < this.qLow[i]! || this.home[i]! > this.qHigh[i]!)) {
        throw new ModelMismatchError(
          `arm.homeQpos[${i}] = ${this.home[i]} is outside joint '${name}' range [${jntRange[2 * j]}, ${jntRange[2 * j + 1]}] (${where})`,
        );
      }
    });
    this.ik = new DampedLeastSquaresIk(n);
    const gripper = robot.gripper;
    this.hasGripper = gripper !== undefined;
    this.gripperQposAdr = Int32Array.from(
      gripper?.joints ?? [],
      (name) => jntQposAdr[sim.id('joint', name, where)]!,
    );
    this.gripperActuators = Int32Array.from(gripper?.actuators ?? [], (name) =>
      sim.id('actuator', name, where),
    );
    this.base = Float64Array.from(robot.basePos);
  }

  /** Puts the arm at its home posture at rest, targets at home, gripper open or closed. */
  resetToHome(gripperOpen: boolean): void {
    const { qpos, ctrl } = this.sim;
    for (let i = 0; i < this.home.length; i++) {
      qpos[this.qposAdr[i]!] = this.home[i]!;
      ctrl[this.actuators[i]!] = this.home[i]!;
    }
    this.setGripper(gripperOpen ? 1 : -1);
    const g = this.robot.gripper;
    if (g) {
      const width = gripperOpen ? g.openCtrl : g.closedCtrl;
      for (const adr of this.gripperQposAdr) qpos[adr] = width;
    }
    this.jacobianFresh = false;
  }

  /**
   * Takes the current end-effector pose as the commanded one: the orientation to hold and the
   * point to hold still at (call after forward()).
   */
  capturePose(): void {
    this.desiredRot.set(this.sim.siteXmat.subarray(9 * this.eeSite, 9 * this.eeSite + 9));
    this.eePosition(this.eeCommand, 0);
  }

  /** Marks cached kinematics stale: call after the physics has stepped. */
  invalidate(): void {
    this.jacobianFresh = false;
  }

  /**
   * Turns an end-effector displacement (3 values in [-1, 1], clipped) into arm joint targets,
   * and a gripper command (1 open … -1 closed) into finger targets when the arm has a gripper.
   */
  applyAction(dx: number, dy: number, dz: number, gripperCommand: number | undefined): void {
    const { sim, robot } = this;
    const ctl = robot.control;
    this.updateJacobian();
    const ee = 3 * this.eeSite;
    const xpos = sim.siteXpos;
    const step = ctl.maxEeStepM;
    const delta = [clip1(dx) * step, clip1(dy) * step, clip1(dz) * step];
    for (let a = 0; a < 3; a++) {
      const current = xpos[ee + a]! + this.base[a]!;
      // The commanded point moves by the action; it may run at most one step ahead of the
      // measured end-effector, so pushing against the table or an object cannot wind it up.
      const commanded = clamp(this.eeCommand[a]! + delta[a]!, current - step, current + step);
      this.eeCommand[a] = clamp(commanded, ctl.workspaceMin[a]!, ctl.workspaceMax[a]!);
      this.error[a] = this.eeCommand[a]! - current;
    }
    const scale = this.solveJointStep();
    const { qpos, ctrl } = sim;
    for (let i = 0; i < this.home.length; i++) {
      ctrl[this.actuators[i]!] = clamp(
        qpos[this.qposAdr[i]!]! + this.dq[i]! / scale,
        this.qLow[i]!,
        this.qHigh[i]!,
      );
    }
    if (gripperCommand !== undefined) this.setGripper(gripperCommand);
  }

  /**
   * The joint velocities that move the end-effector by one action (3 values in [-1, 1], clipped)
   * over `ctrlDtSec`, from the arm's current posture: the same damped-least-squares IK, held
   * orientation and joint speed limits as {@link applyAction}, for a robot driven in joint
   * velocity (src/bridge). It keeps no commanded point: a real robot's loop may run faster than
   * the control step, and each tick starts from the measured posture.
   */
  jointVelocitiesFor(dx: number, dy: number, dz: number, out: Float64Array): void {
    const ctl = this.robot.control;
    this.updateJacobian();
    const ee = 3 * this.eeSite;
    const xpos = this.sim.siteXpos;
    const step = ctl.maxEeStepM;
    const delta = [clip1(dx) * step, clip1(dy) * step, clip1(dz) * step];
    for (let a = 0; a < 3; a++) {
      const current = xpos[ee + a]! + this.base[a]!;
      const target = clamp(current + delta[a]!, ctl.workspaceMin[a]!, ctl.workspaceMax[a]!);
      this.error[a] = target - current;
    }
    const scale = this.solveJointStep();
    for (let i = 0; i < this.home.length; i++) out[i] = this.dq[i]! / scale / this.ctrlDtSec;
  }

  /**
   * Solves the IK for the position error in `error[0..2]` plus the orientation error to the
   * held orientation; leaves the joint step in `dq` and returns the factor it must be divided
   * by to respect the joint speed limits.
   */
  private solveJointStep(): number {
    const { sim } = this;
    const ctl = this.robot.control;
    orientationError(sim.siteXmat, 9 * this.eeSite, this.desiredRot, this.error, 3);
    const w = ctl.orientationWeight;
    this.error[3] = w * this.error[3]!;
    this.error[4] = w * this.error[4]!;
    this.error[5] = w * this.error[5]!;
    const { qpos } = sim;
    const n = this.home.length;
    for (let i = 0; i < n; i++)
      this.nullMotion[i] = ctl.nullspaceGain * (this.home[i]! - qpos[this.qposAdr[i]!]!);
    this.ik.solve(this.error, ctl.ikDamping, this.nullMotion, this.dq);
    // Respect joint speed limits by scaling the whole step, not joint by joint: clipping joints
    // separately would bend the end-effector's path.
    let scale = 1;
    for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(this.dq[i]!) / this.maxDqPerStep[i]!);
    return scale;
  }

  /** Gripper command 1 = open … -1 = closed, mapped linearly onto the finger ctrl range. */
  setGripper(command: number): void {
    const g = this.robot.gripper;
    if (!g) return;
    if (!Number.isFinite(command))
      throw new InvalidActionError(`gripper command must be finite, got ${command}`);
    const t = (clip1(command) + 1) / 2;
    const value = g.closedCtrl + t * (g.openCtrl - g.closedCtrl);
    for (const act of this.gripperActuators) this.sim.ctrl[act] = value;
  }

  /** End-effector position in the task frame. */
  eePosition(out: Float64Array, offset: number): void {
    const ee = 3 * this.eeSite;
    const xpos = this.sim.siteXpos;
    out[offset] = xpos[ee]! + this.base[0]!;
    out[offset + 1] = xpos[ee + 1]! + this.base[1]!;
    out[offset + 2] = xpos[ee + 2]! + this.base[2]!;
  }

  /**
   * End-effector linear velocity (m/s): the site Jacobian times the arm's joint velocities, or
   * times `jointVelocities` (arm joints in order) to predict where a command would move it.
   */
  eeVelocity(out: Float64Array, offset: number, jointVelocities?: ArrayLike<number>): void {
    this.updateJacobian();
    const { jacp, qvel, model } = this.sim;
    const nv = model.nv;
    for (let r = 0; r < 3; r++) {
      let v = 0;
      for (let i = 0; i < this.dofAdr.length; i++) {
        const qdot = jointVelocities ? jointVelocities[i]! : qvel[this.dofAdr[i]!]!;
        v += jacp[r * nv + this.dofAdr[i]!]! * qdot;
      }
      out[offset + r] = v;
    }
  }

  /** Arm joint positions in order (rad or m). */
  jointPositions(out: Float64Array): void {
    for (let i = 0; i < this.qposAdr.length; i++) out[i] = this.sim.qpos[this.qposAdr[i]!]!;
  }

  /** Arm joint velocities in order. */
  jointVelocities(out: Float64Array): void {
    for (let i = 0; i < this.dofAdr.length; i++) out[i] = this.sim.qvel[this.dofAdr[i]!]!;
  }

  /**
   * Writes a measured arm state (and the finger opening, split evenly) into the model, for a
   * kinematic copy of a robot; call the simulation's forward() before reading poses.
   */
  setJointState(positions: ArrayLike<number>, velocities: ArrayLike<number>, gripperWidthM?: number): void {
    const { qpos, qvel } = this.sim;
    for (let i = 0; i < this.qposAdr.length; i++) {
      qpos[this.qposAdr[i]!] = positions[i]!;
      qvel[this.dofAdr[i]!] = velocities[i]!;
    }
    if (gripperWidthM !== undefined) {
      for (const adr of this.gripperQposAdr) qpos[adr] = gripperWidthM / this.gripperQposAdr.length;
    }
    this.jacobianFresh = false;
  }

  /** Sets the arm's position servo targets (arm joints in order), within each joint's range. */
  setJointTargets(targets: ArrayLike<number>): void {
    const { ctrl } = this.sim;
    for (let i = 0; i < this.actuators.length; i++) {
      ctrl[this.actuators[i]!] = clamp(targets[i]!, this.qLow[i]!, this.qHigh[i]!);
    }
  }

  /** Each arm joint's usable range (MJCF range minus the margin; ±∞ where unlimited). */
  jointRange(): { low: Float64Array; high: Float64Array } {
    return { low: this.qLow.slice(), high: this.qHigh.slice() };
  }

  /** Distance between the fingers (sum of the finger joints' positions), 0 without a gripper. */
  gripperWidth(): number {
    let w = 0;
    for (const adr of this.gripperQposAdr) w += this.sim.qpos[adr]!;
    return w;
  }

  /** Translates a task-frame position into the MJCF world frame. */
  toWorld(taskPos: ArrayLike<number>, out: Float64Array, offset: number): void {
    for (let a = 0; a < 3; a++) out[offset + a] = taskPos[a]! - this.base[a]!;
  }

  private updateJacobian(): void {
    if (this.jacobianFresh) return;
    const sim = this.sim;
    sim.mj.mj_jacSite(sim.model, sim.data, sim.jacpBuffer, sim.jacrBuffer, this.eeSite);
    this.ik.setJacobian(sim.jacp, sim.jacr, sim.model.nv, this.dofAdr, this.robot.control.orientationWeight);
    this.jacobianFresh = true;
  }
}

function clip1(x: number): number {
  return x < -1 ? -1 : Math.min(x, 1);
}

function clamp(x: number, low: number, high: number): number {
  return x < low ? low : Math.min(x, high);
}

/**
 * That actuator `actuatorName` drives joint `jointName`: the arm commands actuator i with joint
 * i's target, so two actuators listed in the wrong order would move the wrong joints (every task
 * then fails with nothing to say why, issue #21).
 */
function checkDrives(
  sim: Simulation,
  actuator: number,
  actuatorName: string,
  joint: number,
  jointName: string,
  i: number,
  where: string,
): void {
  const m = sim.model;
  const trnType = (m.actuator_trntype as Int32Array)[actuator]!;
  const jointTransmission = (sim.mj.mjtTrn as unknown as Record<string, { value: number }>).mjTRN_JOINT!
    .value;
  // Tendon- or site-driven actuators cannot be matched to one joint: left to `robot check`.
  if (trnType !== jointTransmission) return;
  const driven = (m.actuator_trnid as Int32Array)[2 * actuator]!;
  if (driven === joint) return;
  throw new ModelMismatchError(
    `arm.actuators[${i}] '${actuatorName}' drives joint '${sim.name('joint', driven)}', but arm.joints[${i}] is '${jointName}': list the actuators in the order of the joints they drive (${where})`,
  );
}
