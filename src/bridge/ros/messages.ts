import type { TaskFramePose } from '../robot.js';

/**
 * ROS message shapes at the rosbridge edge. Inbound messages arrive as `unknown` (roslib does not
 * check them) and stay `unknown` until a guard here accepts them; outbound messages are built
 * here. ROS field names (snake_case) never leave `src/bridge/ros`.
 */

/** ROS generation behind the bridge; see `rosVersion` in src/robot-config/ros-config.ts. */
export type RosVersion = 1 | 2;

/** A guard's verdict: the typed value, or a reason naming what is wrong (for counters and errors). */
export type Guarded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

const accept = <T>(value: T): Guarded<T> => ({ ok: true, value });
const refuse = <T>(reason: string): Guarded<T> => ({ ok: false, reason });

/** Message type names, which differ between ROS 1 (`pkg/Type`) and ROS 2 (`pkg/msg/Type`). */
export interface MessageTypes {
  readonly jointState: string;
  readonly poseStamped: string;
  readonly bool: string;
  readonly float64MultiArray: string;
  readonly jointTrajectory: string;
}

/** The message type names for one ROS generation. */
export function messageTypes(version: RosVersion): MessageTypes {
  const t = (pkg: string, name: string) => (version === 2 ? `${pkg}/msg/${name}` : `${pkg}/${name}`);
  return {
    jointState: t('sensor_msgs', 'JointState'),
    poseStamped: t('geometry_msgs', 'PoseStamped'),
    bool: t('std_msgs', 'Bool'),
    float64MultiArray: t('std_msgs', 'Float64MultiArray'),
    jointTrajectory: t('trajectory_msgs', 'JointTrajectory'),
  };
}

/**
 * Whether two type names denote the same message: rosapi on ROS 2 reports `pkg/msg/Type` while
 * configs and ROS 1 say `pkg/Type`, and rosbridge accepts both.
 */
export function sameMessageType(a: string, b: string): boolean {
  const norm = (s: string) => s.replace('/msg/', '/');
  return norm(a) === norm(b);
}

// ---------------------------------------------------------------------------------------------
// Inbound

/** A `sensor_msgs/JointState` that passed its guard. */
export interface JointStateReading {
  readonly names: readonly string[];
  readonly positions: readonly number[];
  /** Absent when the message's velocity array is empty (many drivers leave it so). */
  readonly velocities: readonly number[] | undefined;
  /** header.stamp in seconds, when the message has a non-zero one. */
  readonly stampSec: number | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finiteArray(value: unknown, field: string): Guarded<number[]> {
  if (!Array.isArray(value)) return refuse(`${field} is not an array`);
  for (let i = 0; i < value.length; i++) {
    const x: unknown = value[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) return refuse(`${field}[${i}] is not a finite number`);
  }
  return accept(value as number[]);
}

/** header.stamp of either generation, in seconds; undefined when missing or zero. */
function stampSeconds(header: unknown): number | undefined {
  if (!isRecord(header) || !isRecord(header.stamp)) return undefined;
  const s = header.stamp;
  const sec = s.sec ?? s.secs;
  const nsec = s.nanosec ?? s.nsecs ?? 0;
  if (typeof sec !== 'number' || typeof nsec !== 'number' || !Number.isFinite(sec) || !Number.isFinite(nsec))
    return undefined;
  const t = sec + nsec * 1e-9;
  return t > 0 ? t : undefined;
}

/** Guard for an inbound `sensor_msgs/JointState`. Effort is ignored. */
export function parseJointState(msg: unknown): Guarded<JointStateReading> {
  if (!isRecord(msg)) return refuse('not an object');
  const { name, position, velocity } = msg;
  if (!Array.isArray(name)) return refuse('name is not an array');
  for (let i = 0; i < name.length; i++) {
    const n: unknown = name[i];
    if (typeof n !== 'string' || n.length === 0) return refuse(`name[${i}] is not a joint name`);
  }
  const names = name as string[];
  if (new Set(names).size !== names.length) return refuse('name lists a joint twice');
  const positions = finiteArray(position, 'position');
  if (!positions.ok) return refuse(positions.reason);
  if (positions.value.length !== names.length)
    return refuse(`position has ${positions.value.length} entries but name has ${names.length}`);
  let velocities: number[] | undefined;
  if (velocity !== undefined && velocity !== null) {
    const v = finiteArray(velocity, 'velocity');
    if (!v.ok) return refuse(v.reason);
    if (v.value.length !== 0 && v.value.length !== names.length)
      return refuse(`velocity has ${v.value.length} entries but name has ${names.length}`);
    velocities = v.value.length === 0 ? undefined : v.value;
  }
  return accept({ names, positions: positions.value, velocities, stampSec: stampSeconds(msg.header) });
}

/** The named joints of a reading, in the order asked. */
export interface SelectedJoints {
  readonly positions: Float64Array;
  /** Undefined when the reading carried no velocities. */
  readonly velocities: Float64Array | undefined;
}

/**
 * Picks `wanted` joints out of a reading by name. The reason lists what is missing and what the
 * message has, so a misnamed joint is spotted at a glance.
 */
export function selectJoints(reading: JointStateReading, wanted: readonly string[]): Guarded<SelectedJoints> {
  const index = new Map(reading.names.map((n, i) => [n, i] as const));
  const missing = wanted.filter((n) => !index.has(n));
  if (missing.length > 0) {
    const has = reading.names.length > 0 ? reading.names.join(', ') : 'no joints';
    return refuse(`lacks ${missing.join(', ')} (it has: ${has})`);
  }
  const positions = new Float64Array(wanted.length);
  const velocities = reading.velocities ? new Float64Array(wanted.length) : undefined;
  wanted.forEach((n, k) => {
    const i = index.get(n)!;
    positions[k] = reading.positions[i]!;
    if (velocities) velocities[k] = reading.velocities![i]!;
  });
  return accept({ positions, velocities });
}

/** How far a quaternion's norm may be from 1 before the pose is refused (then it is renormalised). */
export const QUATERNION_NORM_TOLERANCE = 1e-3;

/** Guard for an inbound `geometry_msgs/PoseStamped`, read as a pose in the task frame. */
export function parsePoseStamped(
  msg: unknown,
  normTolerance = QUATERNION_NORM_TOLERANCE,
): Guarded<TaskFramePose> {
  if (!isRecord(msg)) return refuse('not an object');
  if (!isRecord(msg.pose)) return refuse('pose is missing');
  const { position, orientation } = msg.pose;
  if (!isRecord(position)) return refuse('pose.position is missing');
  if (!isRecord(orientation)) return refuse('pose.orientation is missing');
  const p: number[] = [];
  for (const k of ['x', 'y', 'z'] as const) {
    const v = position[k];
    if (typeof v !== 'number' || !Number.isFinite(v))
      return refuse(`pose.position.${k} is not a finite number`);
    p.push(v);
  }
  const q: number[] = [];
  for (const k of ['w', 'x', 'y', 'z'] as const) {
    const v = orientation[k];
    if (typeof v !== 'number' || !Number.isFinite(v))
      return refuse(`pose.orientation.${k} is not a finite number`);
    q.push(v);
  }
  const norm = Math.hypot(...q);
  if (Math.abs(norm - 1) > normTolerance)
    return refuse(`pose.orientation is not a unit quaternion (norm ${norm.toPrecision(4)})`);
  return accept({ positionM: Float64Array.from(p), quaternionWxyz: Float64Array.from(q, (v) => v / norm) });
}

/** Guard for an inbound `std_msgs/Bool`. */
export function parseBool(msg: unknown): Guarded<boolean> {
  if (!isRecord(msg)) return refuse('not an object');
  return typeof msg.data === 'boolean' ? accept(msg.data) : refuse('data is not a boolean');
}

// ---------------------------------------------------------------------------------------------
// Outbound

/** `std_msgs/Float64MultiArray` as rosbridge expects it. */
export interface Float64MultiArrayMsg {
  readonly layout: {
    readonly dim: readonly { label: string; size: number; stride: number }[];
    readonly data_offset: number;
  };
  readonly data: number[];
}

/** A flat `std_msgs/Float64MultiArray` (no layout dimensions: ros_control group controllers read `data`). */
export function float64MultiArray(values: ArrayLike<number>): Float64MultiArrayMsg {
  return { layout: { dim: [], data_offset: 0 }, data: Array.from(values) };
}

/** builtin_interfaces/Duration (ROS 2) or a ROS 1 duration. */
export type RosDuration =
  | { readonly sec: number; readonly nanosec: number }
  | { readonly secs: number; readonly nsecs: number };

/** A duration in the time fields of the given generation. */
export function rosDuration(seconds: number, version: RosVersion): RosDuration {
  const whole = Math.floor(seconds);
  const nanos = Math.min(999_999_999, Math.round((seconds - whole) * 1e9));
  return version === 2 ? { sec: whole, nanosec: nanos } : { secs: whole, nsecs: nanos };
}

/** `trajectory_msgs/JointTrajectory` as rosbridge expects it. */
export interface JointTrajectoryMsg {
  readonly header: { readonly stamp: RosDuration; readonly frame_id: string; readonly seq?: number };
  readonly joint_names: string[];
  readonly points: {
    readonly positions: number[];
    readonly velocities: number[];
    readonly accelerations: number[];
    readonly effort: number[];
    readonly time_from_start: RosDuration;
  }[];
}

/**
 * A one-point `trajectory_msgs/JointTrajectory`: reach q + v·horizon with velocity v after
 * `horizonSec`. A zero header stamp means "start now" to ros_control's trajectory controllers,
 * so the point is never judged late because of a clock offset between this host and the robot.
 */
export function jointTrajectory(args: {
  readonly jointNames: readonly string[];
  readonly positions: ArrayLike<number>;
  readonly velocities: ArrayLike<number>;
  readonly horizonSec: number;
  readonly rosVersion: RosVersion;
}): JointTrajectoryMsg {
  const { jointNames, positions: q, velocities: v, horizonSec, rosVersion } = args;
  if (q.length !== jointNames.length || v.length !== jointNames.length)
    throw new Error(
      `jointTrajectory: ${jointNames.length} joints but ${q.length} positions and ${v.length} velocities`,
    );
  const stamp = rosDuration(0, rosVersion);
  return {
    header: rosVersion === 1 ? { seq: 0, stamp, frame_id: '' } : { stamp, frame_id: '' },
    joint_names: [...jointNames],
    points: [
      {
        positions: Array.from(q, (qi, i) => qi + v[i]! * horizonSec),
        velocities: Array.from(v),
        accelerations: [],
        effort: [],
        time_from_start: rosDuration(horizonSec, rosVersion),
      },
    ],
  };
}

/** A readable message from whatever roslib or a socket reports as an error (an Error, an event with `message`, anything). */
export const errorText = (e: unknown): string =>
  e instanceof Error
    ? e.message
    : typeof e === 'object' && e !== null && 'message' in e && typeof e.message === 'string' && e.message
      ? e.message
      : String(e);
