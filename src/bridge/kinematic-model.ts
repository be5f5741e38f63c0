import { CartesianArm } from '../../sim/arm.js';
import { compileModel } from '../../sim/mujoco/model-loader.js';
import { getMujoco } from '../../sim/mujoco/module.js';
import { Simulation } from '../../sim/mujoco/simulation.js';
import { buildScene } from '../../sim/scene.js';
import type { Task } from '../../sim/tasks/task.js';
import type { RobotConfig } from '../robot-config/robot-config.js';
import type { RobotState } from './robot.js';

/**
 * A robot's MJCF used as its kinematic model: measured joint states go in, end-effector pose
 * and velocity come out, and end-effector actions become joint velocities by the same IK
 * (sim/arm.ts) that drives the simulated arm. Nothing is simulated: the model only holds the
 * posture it was last given.
 */
export class KinematicModel {
  readonly arm: CartesianArm;
  readonly jointCount: number;
  private readonly sim: Simulation;
  /** The state last set (see {@link setState}). */
  private current: RobotState | undefined;

  private constructor(sim: Simulation, robot: RobotConfig, ctrlDtSec: number) {
    this.sim = sim;
    this.arm = new CartesianArm(sim, robot, ctrlDtSec);
    this.jointCount = robot.arm.joints.length;
    // The orientation the IK holds is the home one (gripper down), as in the simulated tasks.
    sim.resetData();
    this.arm.resetToHome(true);
    sim.forward();
    this.arm.capturePose();
  }

  /** Compiles the robot's MJCF (in the task's scene, so frames match the env exactly). */
  static async create(robot: RobotConfig, task: Task): Promise<KinematicModel> {
    const mj = await getMujoco();
    const model = compileModel(mj, buildScene(robot, task));
    const sim = new Simulation(mj, model);
    try {
      return new KinematicModel(sim, robot, task.config.ctrlDtSec);
    } catch (error) {
      sim.dispose();
      throw error;
    }
  }

  /**
   * Takes a measured state as the model's posture. The observer and the safety filter both set
   * the tick's state; states are never mutated, so the same object needs no second forward pass.
   */
  setState(state: RobotState): void {
    if (state === this.current) return;
    this.current = state;
    this.sim.ensureViews();
    this.arm.setJointState(state.jointPositions, state.jointVelocities, state.gripperWidthM);
    this.sim.forward();
    this.arm.invalidate();
  }

  /** End-effector position (task frame, m) of the posture last set. */
  eePosition(out: Float64Array, offset = 0): void {
    this.sim.ensureViews();
    this.arm.eePosition(out, offset);
  }

  /** End-effector velocity (m/s): of the measured joint velocities, or of `jointVelocities`. */
  eeVelocity(out: Float64Array, offset = 0, jointVelocities?: ArrayLike<number>): void {
    this.sim.ensureViews();
    this.arm.eeVelocity(out, offset, jointVelocities);
  }

  /** Joint velocities that carry out an end-effector action (dx, dy, dz in [-1, 1]) from the posture last set. */
  jointVelocitiesFor(action: ArrayLike<number>, out: Float64Array): void {
    this.sim.ensureViews();
    this.arm.jointVelocitiesFor(action[0]!, action[1]!, action[2]!, out);
  }

  dispose(): void {
    this.sim.dispose();
  }
}
