import { ArmpriorError } from '../core/errors.js';

/**
 * The boundary to a body (DESIGN.md "Robot"): the simulated arm (src/bridge/sim-robot.ts) and a
 * real arm over rosbridge (src/bridge/ros/ros-robot.ts) implement the same contract, so the
 * control loop, the safety filter and the recorder cannot tell them apart.
 *
 * Everything is in joint space and in the task frame (origin at the table-top centre); ROS
 * names and message shapes never leave `src/bridge/ros`.
 */

/** What a robot is: its arm joints in order, and whether it has a gripper. */
export interface RobotSpec {
  /** Robot config name (`config/robots/<name>.yaml`). */
  readonly name: string;
  /** Arm joint names (the MJCF names of the kinematic model), base to tip. */
  readonly jointNames: readonly string[];
  readonly hasGripper: boolean;
}

/** A pose in the task frame: position (m) and orientation quaternion (w, x, y, z). */
export interface TaskFramePose {
  readonly positionM: Float64Array;
  readonly quaternionWxyz: Float64Array;
}

/**
 * The manipulated object: its pose, and its velocities where the source measures them (the
 * simulator does; from a pose topic they are differenced by the observer).
 */
export interface ObjectState extends TaskFramePose {
  /** Linear velocity (m/s, task axes). */
  readonly linearVelocityMps?: Float64Array;
  /** Angular velocity (rad/s, world axes). */
  readonly angularVelocityRadPerSec?: Float64Array;
}

/** The robot's latest state, as measured, with when it was measured. */
export interface RobotState {
  /** When the state was measured, on the control loop's clock (ms). */
  readonly stampMs: number;
  /** Arm joint positions (rad or m), in `spec.jointNames` order. */
  readonly jointPositions: Float64Array;
  /** Arm joint velocities (rad/s or m/s), same order. */
  readonly jointVelocities: Float64Array;
  /** Distance between the fingers (m), for a robot with a gripper. */
  readonly gripperWidthM?: number;
  /** The manipulated object's pose, where the robot knows it (sim, or a pose topic). */
  readonly object?: ObjectState;
  /** The goal position (task frame, m), where the robot knows it. */
  readonly goalPositionM?: Float64Array;
}

/** One command: arm joint velocities, held until the next command, and a gripper command. */
export interface JointCommand {
  /** rad/s (or m/s for slide joints), `spec.jointNames` order. */
  readonly jointVelocities: Float64Array;
  /** 1 = open … -1 = closed; absent: leave the gripper as it is. */
  readonly gripper?: number;
}

/** Connection state a robot reports; the simulated arm is always `connected`. */
export type RobotLink = 'connected' | 'reconnecting' | 'lost';

/**
 * What {@link Robot.stop} actually achieved (issue #17: the robot path never claims a stop it did
 * not make). Only `confirmed` lets a run end cleanly on a real robot; anything else is a fault,
 * and the report tells the operator what to do.
 *
 * - `confirmed`: the stop command went out and a fresh state measured after it shows the arm at
 *   rest (every joint slower than `safety.restJointVelRadPerSec`) within `safety.stopConfirmTimeoutMs`;
 *   the simulated arm's stop is confirmed by construction.
 * - `unconfirmed`: a stop command went out (or may have), but no fresh state showed the arm at
 *   rest: none arrived, the arm was still moving, or the link dropped while waiting.
 * - `impossible`: nothing could be sent (the link is down): the arm does whatever its own
 *   controller does with the last command.
 */
export type StopOutcome =
  | { readonly kind: 'confirmed'; readonly detail: string }
  | { readonly kind: 'unconfirmed'; readonly detail: string; readonly operatorAction: string }
  | { readonly kind: 'impossible'; readonly detail: string; readonly operatorAction: string };

export interface Robot {
  readonly spec: RobotSpec;
  /** Connects (a real robot: waits for the first state). Throws {@link RobotError} when it cannot. */
  connect(): Promise<void>;
  /** The latest state, or undefined when none has arrived yet. Never blocks. */
  observe(): RobotState | undefined;
  /**
   * Sends one command (already through the safety filter) and returns what was actually sent.
   * A robot that cannot send now (link down) sends nothing and returns undefined.
   */
  act(command: JointCommand): JointCommand | undefined;
  /**
   * Safe stop: zero joint velocity, then hold. Resolves with what actually happened (see
   * {@link StopOutcome}) once that is known: a real robot waits, bounded, for a fresh state that
   * confirms the arm is at rest. Rejects only on an unexpected failure (a bug).
   */
  stop(): Promise<StopOutcome>;
  /** Releases the connection or the simulation. The robot cannot be used afterwards. */
  close(): Promise<void>;
  /** Current link state. */
  link(): RobotLink;
  /**
   * Registers a fault listener: an e-stop topic, a link that did not come back, a reconnect under
   * `safety.onReconnect: stop`. The loop stops safely and reports the reason.
   */
  onFault(listener: (reason: string) => void): void;
  /**
   * Simulated robots only: starts a new episode (the scene re-placed from the next seed). A real
   * robot has no such method; a person resets its scene.
   */
  newEpisode?(): void;
}

/** A robot that cannot be reached, stopped answering, or reports state that does not fit. */
export class RobotError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('robot_failed', message, options);
  }
}

/**
 * The robot behind the link is not the one its config describes, found before anything was
 * commanded: another ROS generation than `ros.rosVersion`, a command topic nobody subscribes to.
 * Bad input (exit 2): fix the config or start the robot's controller, then run again.
 */
export class RobotMismatchError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('robot_mismatch', message, options);
  }
}

/** A command that must be a zero-velocity hold for these joints. */
export function zeroCommand(joints: number, gripper?: number): JointCommand {
  return gripper === undefined
    ? { jointVelocities: new Float64Array(joints) }
    : { jointVelocities: new Float64Array(joints), gripper };
}
