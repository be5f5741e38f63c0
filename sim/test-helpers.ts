/**
 * Helpers for tests that reach into the simulation (teleporting objects, setting joints).
 * Not part of the env's API: tasks place objects only through their reset distributions.
 */
import type { ArmEnv } from './env.js';

/** Moves a free-jointed body to a task-frame position, at rest, and recomputes positions. */
export function placeFreeBody(env: ArmEnv, jointName: string, taskPos: readonly number[]): void {
  const sim = env.simulation;
  const joint = sim.id('joint', jointName, 'test');
  const adr = (sim.model.jnt_qposadr as Int32Array)[joint]!;
  const dof = (sim.model.jnt_dofadr as Int32Array)[joint]!;
  sim.ensureViews();
  for (let a = 0; a < 3; a++) sim.qpos[adr + a] = taskPos[a]! - env.robot.basePos[a]!;
  sim.qpos.set([1, 0, 0, 0], adr + 3);
  for (let i = 0; i < 6; i++) sim.qvel[dof + i] = 0;
  sim.forward();
}

/** Sets a hinge or slide joint's position and recomputes positions. */
export function setJoint(env: ArmEnv, jointName: string, value: number): void {
  const sim = env.simulation;
  const joint = sim.id('joint', jointName, 'test');
  sim.ensureViews();
  sim.qpos[(sim.model.jnt_qposadr as Int32Array)[joint]!] = value;
  sim.forward();
}

/** Proportional end-effector action toward `target` (clipped to [-1, 1]). */
export function towards(ee: ArrayLike<number>, target: ArrayLike<number>, gain = 6): number[] {
  return [0, 1, 2].map((i) => Math.max(-1, Math.min(1, gain * (target[i]! - ee[i]!))));
}

/** Size of wasm memory in bytes (it only grows; a leak shows as growth). */
export function wasmMemoryBytes(env: ArmEnv): number {
  const probe = new env.simulation.mj.DoubleBuffer(1);
  const bytes = (probe.GetView() as Float64Array).buffer.byteLength;
  probe.delete();
  return bytes;
}
