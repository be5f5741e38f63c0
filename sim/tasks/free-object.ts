import type { TaskContext, VectorField } from './task.js';

/** The 12 observation values of a free object, as in panda-gym. */
export const FREE_OBJECT_FIELDS: readonly VectorField[] = [
  { name: 'objectPosition', size: 3, unit: 'm', description: 'object centre (x, y, z), task frame' },
  {
    name: 'objectRotation',
    size: 3,
    unit: 'rad',
    description: 'object orientation as roll, pitch, yaw (XYZ Euler)',
  },
  { name: 'objectVelocity', size: 3, unit: 'm/s', description: 'object linear velocity' },
  {
    name: 'objectAngularVelocity',
    size: 3,
    unit: 'rad/s',
    description: 'object angular velocity, world axes',
  },
];

/** Quaternion (w, x, y, z) to roll, pitch, yaw (XYZ), as pybullet's getEulerFromQuaternion. */
export function eulerXyzFromQuaternion(
  w: number,
  x: number,
  y: number,
  z: number,
  out: Float64Array,
  offset: number,
): void {
  out[offset] = Math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y));
  out[offset + 1] = Math.asin(Math.max(-1, Math.min(1, 2 * (w * y - z * x))));
  out[offset + 2] = Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
}

/**
 * A body with a free joint (a cube, a puck): placing it at reset and reading its state.
 * Positions are in the task frame; MuJoCo's free joint stores them in the world frame.
 */
export class FreeObject {
  private qposAdr = -1;
  private dofAdr = -1;
  private readonly world = new Float64Array(3);

  constructor(
    readonly bodyName: string,
    readonly jointName: string,
  ) {}

  bind(ctx: TaskContext, task: string): void {
    const joint = ctx.sim.id('joint', this.jointName, `task '${task}'`);
    this.qposAdr = (ctx.sim.model.jnt_qposadr as Int32Array)[joint]!;
    this.dofAdr = (ctx.sim.model.jnt_dofadr as Int32Array)[joint]!;
  }

  /** Puts the object at a task-frame position, upright, at rest. */
  place(ctx: TaskContext, position: ArrayLike<number>, yawRad = 0): void {
    const { qpos, qvel } = ctx.sim;
    ctx.arm.toWorld(position, this.world, 0);
    const a = this.qposAdr;
    qpos[a] = this.world[0]!;
    qpos[a + 1] = this.world[1]!;
    qpos[a + 2] = this.world[2]!;
    qpos[a + 3] = Math.cos(yawRad / 2);
    qpos[a + 4] = 0;
    qpos[a + 5] = 0;
    qpos[a + 6] = Math.sin(yawRad / 2);
    for (let i = 0; i < 6; i++) qvel[this.dofAdr + i] = 0;
  }

  /** Task-frame position. */
  position(ctx: TaskContext, out: Float64Array, offset: number): void {
    const q = ctx.sim.qpos;
    const a = this.qposAdr;
    const base = ctx.arm.robot.basePos;
    out[offset] = q[a]! + base[0];
    out[offset + 1] = q[a + 1]! + base[1];
    out[offset + 2] = q[a + 2]! + base[2];
  }

  /** Writes position, Euler rotation, linear and angular velocity (12 values, {@link FREE_OBJECT_FIELDS}). */
  observe(ctx: TaskContext, out: Float64Array, offset: number): void {
    this.position(ctx, out, offset);
    const q = ctx.sim.qpos;
    const v = ctx.sim.qvel;
    const a = this.qposAdr;
    const w = q[a + 3]!;
    const x = q[a + 4]!;
    const y = q[a + 5]!;
    const z = q[a + 6]!;
    eulerXyzFromQuaternion(w, x, y, z, out, offset + 3);
    const d = this.dofAdr;
    out[offset + 6] = v[d]!;
    out[offset + 7] = v[d + 1]!;
    out[offset + 8] = v[d + 2]!;
    // MuJoCo's free joint gives angular velocity in the body frame; rotate it into world axes.
    const wx = v[d + 3]!;
    const wy = v[d + 4]!;
    const wz = v[d + 5]!;
    out[offset + 9] = (1 - 2 * (y * y + z * z)) * wx + 2 * (x * y - w * z) * wy + 2 * (x * z + w * y) * wz;
    out[offset + 10] = 2 * (x * y + w * z) * wx + (1 - 2 * (x * x + z * z)) * wy + 2 * (y * z - w * x) * wz;
    out[offset + 11] = 2 * (x * z - w * y) * wx + 2 * (y * z + w * x) * wy + (1 - 2 * (x * x + y * y)) * wz;
  }
}

/** A mocap body showing the goal; moving it changes nothing physical (no collisions). */
export class GoalMarker {
  private mocapIndex = -1;
  private readonly world = new Float64Array(3);

  constructor(readonly bodyName: string) {}

  bind(ctx: TaskContext, task: string): void {
    const body = ctx.sim.id('body', this.bodyName, `task '${task}'`);
    this.mocapIndex = (ctx.sim.model.body_mocapid as Int32Array)[body]!;
  }

  place(ctx: TaskContext, position: ArrayLike<number>): void {
    ctx.arm.toWorld(position, this.world, 0);
    ctx.sim.mocapPos.set(this.world, 3 * this.mocapIndex);
  }
}
