import type { GoalObservation } from '../../sim/env.js';
import { eulerXyzFromQuaternion, FREE_OBJECT_FIELDS } from '../../sim/tasks/free-object.js';
import type { Task } from '../../sim/tasks/task.js';
import { ModelMismatchError } from '../core/errors.js';
import type { KinematicModel } from './kinematic-model.js';
import { RobotError, type RobotState } from './robot.js';

/**
 * Turns a robot's measured state into the task's goal observation, exactly as the simulated
 * env lays it out (sim/env.ts: ee position, ee velocity, gripper width, then the task's part),
 * so a prior or a policy made in simulation reads a real robot the same way.
 *
 * The end-effector comes from the kinematic model; the object from the robot's object pose
 * (its velocities differenced between states when the robot does not measure them).
 * Tasks whose observation is not a free object (the drawer) are refused: no robot reports it.
 */
export class TaskObserver {
  readonly observationSize: number;
  readonly goalSize = 3;
  private readonly withObject: boolean;
  private readonly armSize: number;
  /** The object pose when it last changed, and when. */
  private previous: { stampMs: number; position: Float64Array; quaternion: Float64Array } | undefined;
  /** Object linear then angular velocity, differenced at the last pose change. */
  private readonly velocity = new Float64Array(6);

  constructor(
    private readonly task: Task,
    private readonly kinematics: KinematicModel,
    private readonly fixedGoalM?: ArrayLike<number>,
  ) {
    const names = task.observationFields.map((f) => f.name).join(',');
    const objectNames = FREE_OBJECT_FIELDS.map((f) => f.name).join(',');
    if (names !== '' && names !== objectNames) {
      throw new ModelMismatchError(
        `task '${task.name}' observes ${names}, which a robot does not report (robots give joint states and an object pose); run it in simulation`,
      );
    }
    const goalSize = task.goalFields.reduce((n, f) => n + f.size, 0);
    if (goalSize !== 3) {
      throw new ModelMismatchError(
        `task '${task.name}' has a goal of ${goalSize} values; robots give a 3-D goal position`,
      );
    }
    this.withObject = names !== '';
    this.armSize = task.usesGripper ? 7 : 6;
    this.observationSize = this.armSize + (this.withObject ? 12 : 0);
  }

  /** The observation of `state` (the kinematic model takes its posture). Throws when the state lacks what the task needs. */
  observe(state: RobotState): GoalObservation {
    const observation = new Float64Array(this.observationSize);
    const achievedGoal = new Float64Array(3);
    this.kinematics.setState(state);
    this.kinematics.eePosition(observation, 0);
    this.kinematics.eeVelocity(observation, 3);
    if (this.task.usesGripper) {
      if (state.gripperWidthM === undefined) {
        throw new RobotError(`task '${this.task.name}' needs the gripper width, and the robot reports none`);
      }
      observation[6] = state.gripperWidthM;
    }
    if (this.withObject) {
      this.observeObject(state, observation, this.armSize);
      achievedGoal.set(observation.subarray(this.armSize, this.armSize + 3));
    } else {
      achievedGoal.set(observation.subarray(0, 3));
    }
    const goal = state.goalPositionM ?? this.fixedGoalM;
    if (!goal) {
      throw new RobotError(
        `task '${this.task.name}' needs a goal: the robot reports none (set ros.goalPoseTopic) and no --goal was given`,
      );
    }
    return { observation, achievedGoal, desiredGoal: Float64Array.from(goal) };
  }

  /** Forgets the previous object pose (a new episode, or a link that came back). */
  reset(): void {
    this.previous = undefined;
    this.velocity.fill(0);
  }

  private observeObject(state: RobotState, out: Float64Array, at: number): void {
    const object = state.object;
    if (!object) {
      throw new RobotError(
        `task '${this.task.name}' needs the object's pose, and the robot reports none (set ros.objectPoseTopic)`,
      );
    }
    const p = object.positionM;
    const [w, x, y, z] = object.quaternionWxyz as unknown as [number, number, number, number];
    out.set(p, at);
    eulerXyzFromQuaternion(w, x, y, z, out, at + 3);
    const measured = object.linearVelocityMps && object.angularVelocityRadPerSec;
    if (measured) {
      out.set(object.linearVelocityMps!, at + 6);
      out.set(object.angularVelocityRadPerSec!, at + 9);
      return;
    }
    // Differenced between pose *changes*: an object pose topic may come slower than the joint
    // states (or the same pose be observed twice), and differencing per state would read as a
    // cube that stops and jumps.
    const prev = this.previous;
    const changed =
      !prev || !sameValues(prev.position, p) || !sameValues(prev.quaternion, object.quaternionWxyz);
    if (prev && changed) {
      const dtSec = (state.stampMs - prev.stampMs) / 1000;
      if (dtSec > 0) {
        for (let a = 0; a < 3; a++) this.velocity[a] = (p[a]! - prev.position[a]!) / dtSec;
        angularVelocity(prev.quaternion, object.quaternionWxyz, dtSec, this.velocity, 3);
      }
    }
    out.set(this.velocity, at + 6);
    if (changed) {
      this.previous = {
        stampMs: state.stampMs,
        position: Float64Array.from(p),
        quaternion: Float64Array.from(object.quaternionWxyz),
      };
    }
  }
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** World-frame angular velocity taking orientation q0 to q1 in dtSec: 2·(q1 ⊗ q0*) vector part / dt (small-angle). */
function angularVelocity(
  q0: Float64Array,
  q1: Float64Array,
  dtSec: number,
  out: Float64Array,
  at: number,
): void {
  const [aw, ax, ay, az] = [q1[0]!, q1[1]!, q1[2]!, q1[3]!];
  const [bw, bx, by, bz] = [q0[0]!, -q0[1]!, -q0[2]!, -q0[3]!];
  let dw = aw * bw - ax * bx - ay * by - az * bz;
  let dx = aw * bx + ax * bw + ay * bz - az * by;
  let dy = aw * by - ax * bz + ay * bw + az * bx;
  let dz = aw * bz + ax * by - ay * bx + az * bw;
  // q and −q are the same rotation: take the short way round.
  if (dw < 0) [dw, dx, dy, dz] = [-dw, -dx, -dy, -dz];
  out[at] = (2 * dx) / dtSec;
  out[at + 1] = (2 * dy) / dtSec;
  out[at + 2] = (2 * dz) / dtSec;
}
