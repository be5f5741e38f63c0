// Three-vectors as tuples for `robot init`'s one-off geometry. Not the env's hot path, which
// works in preallocated typed arrays; here clarity wins and a few thousand tuples are nothing.

export type Vec3 = [number, number, number];

export const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const norm = (a: Vec3): number => Math.sqrt(dot(a, a));
export const normalize = (a: Vec3): Vec3 => scale(a, 1 / norm(a));
export const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];

/** The three values of `array` from `offset` (a position in one of MuJoCo's n×3 arrays). */
export function vec3At(array: Float64Array, offset: number): Vec3 {
  return [array[offset]!, array[offset + 1]!, array[offset + 2]!];
}

/** R v for MuJoCo's row-major 3×3 rotation at `offset` of `mat` (a body frame to the world). */
export function rotateOut(mat: Float64Array, offset: number, v: Vec3): Vec3 {
  const r = (i: number) =>
    mat[offset + 3 * i]! * v[0] + mat[offset + 3 * i + 1]! * v[1] + mat[offset + 3 * i + 2]! * v[2];
  return [r(0), r(1), r(2)];
}

/** Rᵀ v: a world vector in the frame of the rotation at `offset` of `mat`. */
export function rotateInto(mat: Float64Array, offset: number, v: Vec3): Vec3 {
  const c = (j: number) =>
    mat[offset + j]! * v[0] + mat[offset + 3 + j]! * v[1] + mat[offset + 6 + j]! * v[2];
  return [c(0), c(1), c(2)];
}
