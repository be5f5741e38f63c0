/**
 * Damped-least-squares inverse kinematics for a 6-D task (position + orientation) on n joints:
 *
 *   dq = Jᵀ (J Jᵀ + λ² I)⁻¹ e  +  (I − J⁺ J) z,   J⁺ = Jᵀ (J Jᵀ + λ² I)⁻¹
 *
 * where e is the task-space error and z a joint-space motion (pull toward a home posture) that
 * only acts in the null space of the task. Written by hand: it is a 6×6 Cholesky solve on
 * preallocated arrays, run every control step, and no JS linear-algebra library does that
 * without allocating.
 */
export class DampedLeastSquaresIk {
  readonly dofs: number;
  /** Task Jacobian, 6 × dofs, row-major: rows 0-2 translational, 3-5 rotational. */
  private readonly jac: Float64Array;
  /** J Jᵀ + λ² I and its Cholesky factor (lower triangle, in place). */
  private readonly chol = new Float64Array(36);
  private readonly rhs = new Float64Array(6);
  private readonly y = new Float64Array(6);

  constructor(dofs: number) {
    this.dofs = dofs;
    this.jac = new Float64Array(6 * dofs);
  }

  /**
   * Gathers the arm's columns from MuJoCo's full Jacobians (3 × nv each, row-major) and scales
   * the rotational rows by `orientationWeight`.
   */
  setJacobian(
    jacp: Float64Array,
    jacr: Float64Array,
    nv: number,
    dofIndices: Int32Array,
    orientationWeight: number,
  ): void {
    const n = this.dofs;
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < n; c++) {
        const col = dofIndices[c]!;
        this.jac[r * n + c] = jacp[r * nv + col]!;
        this.jac[(r + 3) * n + c] = orientationWeight * jacr[r * nv + col]!;
      }
    }
  }

  /**
   * Writes the joint displacement into `dq` (length dofs). `error` is the 6-D task error (its
   * rotational part already scaled like the Jacobian's rows); `nullMotion` the joint motion to
   * project into the null space (length dofs), or undefined for none.
   */
  solve(error: Float64Array, damping: number, nullMotion: Float64Array | undefined, dq: Float64Array): void {
    const n = this.dofs;
    const J = this.jac;
    const A = this.chol;
    const lambda2 = damping * damping;
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += J[i * n + k]! * J[j * n + k]!;
        A[i * 6 + j] = s + (i === j ? lambda2 : 0);
      }
    }
    choleskyInPlace6(A);
    this.rhs.set(error);
    choleskySolve6(A, this.rhs, this.y);
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let i = 0; i < 6; i++) s += J[i * n + k]! * this.y[i]!;
      dq[k] = s;
    }
    if (!nullMotion) return;
    // (I − Jᵀ A⁻¹ J) z = z − Jᵀ A⁻¹ (J z)
    for (let i = 0; i < 6; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += J[i * n + k]! * nullMotion[k]!;
      this.rhs[i] = s;
    }
    choleskySolve6(A, this.rhs, this.y);
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let i = 0; i < 6; i++) s += J[i * n + k]! * this.y[i]!;
      dq[k] = dq[k]! + nullMotion[k]! - s;
    }
  }
}

/** Cholesky factorisation of a symmetric positive-definite 6×6 matrix (lower triangle used and overwritten). */
function choleskyInPlace6(A: Float64Array): void {
  for (let j = 0; j < 6; j++) {
    let d = A[j * 6 + j]!;
    for (let k = 0; k < j; k++) d -= A[j * 6 + k]! * A[j * 6 + k]!;
    const l = Math.sqrt(Math.max(d, 1e-12));
    A[j * 6 + j] = l;
    for (let i = j + 1; i < 6; i++) {
      let s = A[i * 6 + j]!;
      for (let k = 0; k < j; k++) s -= A[i * 6 + k]! * A[j * 6 + k]!;
      A[i * 6 + j] = s / l;
    }
  }
}

/** Solves L Lᵀ x = b for the factor from {@link choleskyInPlace6}. */
function choleskySolve6(L: Float64Array, b: Float64Array, x: Float64Array): void {
  for (let i = 0; i < 6; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * 6 + k]! * x[k]!;
    x[i] = s / L[i * 6 + i]!;
  }
  for (let i = 5; i >= 0; i--) {
    let s = x[i]!;
    for (let k = i + 1; k < 6; k++) s -= L[k * 6 + i]! * x[k]!;
    x[i] = s / L[i * 6 + i]!;
  }
}

/**
 * Orientation error that rotates frame `current` onto frame `desired` (both 3×3 row-major
 * rotation matrices, columns are the frame axes): ½ Σ_axes current_axis × desired_axis.
 * Small-angle exact, and well-behaved for the few-degree errors an end-effector hold sees.
 */
export function orientationError(
  current: Float64Array,
  currentOffset: number,
  desired: Float64Array,
  out: Float64Array,
  outOffset: number,
): void {
  let ex = 0;
  let ey = 0;
  let ez = 0;
  for (let axis = 0; axis < 3; axis++) {
    const cx = current[currentOffset + axis]!;
    const cy = current[currentOffset + 3 + axis]!;
    const cz = current[currentOffset + 6 + axis]!;
    const dx = desired[axis]!;
    const dy = desired[3 + axis]!;
    const dz = desired[6 + axis]!;
    ex += cy * dz - cz * dy;
    ey += cz * dx - cx * dz;
    ez += cx * dy - cy * dx;
  }
  out[outOffset] = 0.5 * ex;
  out[outOffset + 1] = 0.5 * ey;
  out[outOffset + 2] = 0.5 * ez;
}
