import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { DampedLeastSquaresIk, orientationError } from './ik.js';

/** A random 6 × n Jacobian laid out as MuJoCo's jacp/jacr (3 × nv each) over dofs 0..n-1. */
function randomJacobian(rng: Rng, n: number): { jacp: Float64Array; jacr: Float64Array } {
  const jacp = new Float64Array(3 * n).map(() => rng.uniform(-1, 1));
  const jacr = new Float64Array(3 * n).map(() => rng.uniform(-1, 1));
  return { jacp, jacr };
}

function apply(jacp: Float64Array, jacr: Float64Array, n: number, dq: Float64Array): number[] {
  const out: number[] = [];
  for (const J of [jacp, jacr]) {
    for (let r = 0; r < 3; r++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += J[r * n + c]! * dq[c]!;
      out.push(s);
    }
  }
  return out;
}

describe('DampedLeastSquaresIk', () => {
  it('solves J dq = e for a redundant arm when damping is small', () => {
    const rng = Rng.fromSeed(0);
    const n = 7;
    const { jacp, jacr } = randomJacobian(rng, n);
    const ik = new DampedLeastSquaresIk(n);
    ik.setJacobian(jacp, jacr, n, Int32Array.from([0, 1, 2, 3, 4, 5, 6]), 1);
    const e = Float64Array.from([0.01, -0.02, 0.005, 0.01, 0, -0.01]);
    const dq = new Float64Array(n);
    ik.solve(e, 1e-6, undefined, dq);
    for (const [i, v] of apply(jacp, jacr, n, dq).entries()) expect(v).toBeCloseTo(e[i]!, 6);
  });

  it('keeps null-space motion out of the task', () => {
    const rng = Rng.fromSeed(1);
    const n = 7;
    const { jacp, jacr } = randomJacobian(rng, n);
    const ik = new DampedLeastSquaresIk(n);
    ik.setJacobian(jacp, jacr, n, Int32Array.from([0, 1, 2, 3, 4, 5, 6]), 1);
    const zero = new Float64Array(6);
    const z = Float64Array.from([0.1, -0.2, 0.3, 0, 0.1, 0.2, -0.1]);
    const dq = new Float64Array(n);
    ik.solve(zero, 1e-6, z, dq);
    for (const v of apply(jacp, jacr, n, dq)) expect(Math.abs(v)).toBeLessThan(1e-6);
    expect(Math.hypot(...dq)).toBeGreaterThan(0.1);
  });

  it('shrinks the step near a singularity instead of blowing up', () => {
    const n = 7;
    const jacp = new Float64Array(3 * n);
    const jacr = new Float64Array(3 * n);
    jacp[0] = 1e-6; // x can barely move
    const ik = new DampedLeastSquaresIk(n);
    ik.setJacobian(jacp, jacr, n, Int32Array.from([0, 1, 2, 3, 4, 5, 6]), 1);
    const dq = new Float64Array(n);
    ik.solve(Float64Array.from([0.05, 0, 0, 0, 0, 0]), 0.05, undefined, dq);
    expect(Math.abs(dq[0]!)).toBeLessThan(1e-3);
  });

  it('measures the rotation between two frames', () => {
    const angle = 0.1;
    const current = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const desired = Float64Array.from([c, -s, 0, s, c, 0, 0, 0, 1]); // rotated about z
    const out = new Float64Array(3);
    orientationError(current, 0, desired, out, 0);
    expect(out[0]).toBeCloseTo(0, 9);
    expect(out[1]).toBeCloseTo(0, 9);
    expect(out[2]).toBeCloseTo(Math.sin(angle), 9);
  });
});
