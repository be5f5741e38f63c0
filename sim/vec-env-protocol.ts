/**
 * Shared-memory layout between a {@link VecEnv} and its worker threads. Actions and results
 * travel through SharedArrayBuffers; each worker has a command counter and a done counter in
 * `control` that the two sides wait on with Atomics (no message per step).
 */

/** Operations a worker runs on its slice of envs. */
export const Op = { reset: 1, step: 2, close: 3 } as const;

/** Int32 slots per worker in `control`. */
export const CONTROL_SLOTS = 4;
export const Slot = {
  /** Incremented by the main thread to hand the worker a command. */
  command: 0,
  /** Set to the command number when the worker has finished it. */
  done: 1,
  /** Which {@link Op}. */
  op: 2,
  /** 0 ok, 1 failed (the error is in `errors`). */
  status: 3,
} as const;

export const ERROR_BYTES = 4096;

/** Message the last worker to finish a command posts to the main thread. */
export const ALL_DONE = 0;

export interface VecBuffers {
  control: SharedArrayBuffer;
  /**
   * One Int32: workers still busy with the current command. The last worker to finish wakes
   * the main thread (with {@link ALL_DONE}), so it wakes once per step rather than once per worker.
   */
  pending: SharedArrayBuffer;
  actions: SharedArrayBuffer;
  observation: SharedArrayBuffer;
  achievedGoal: SharedArrayBuffer;
  desiredGoal: SharedArrayBuffer;
  finalObservation: SharedArrayBuffer;
  finalAchievedGoal: SharedArrayBuffer;
  reward: SharedArrayBuffer;
  /** Per env: bit 0 terminated, bit 1 truncated, bit 2 success, bit 3 sim unstable. */
  flags: SharedArrayBuffer;
  /** Per env reset seed (used by Op.reset). */
  seeds: SharedArrayBuffer;
  errors: SharedArrayBuffer;
}

export const Flag = { terminated: 1, truncated: 2, success: 4, unstable: 8 } as const;

export interface WorkerInit {
  workerIndex: number;
  /** Envs [firstEnv, firstEnv + envCount) of the VecEnv live in this worker. */
  firstEnv: number;
  envCount: number;
  task: string;
  robot: string | undefined;
  taskOverrides: Record<string, unknown>;
  sizes: { observation: number; goal: number; action: number };
  buffers: VecBuffers;
}

export function allocateBuffers(numEnvs: number, numWorkers: number, sizes: WorkerInit['sizes']): VecBuffers {
  const f64 = (n: number) => new SharedArrayBuffer(8 * Math.max(1, n));
  return {
    control: new SharedArrayBuffer(4 * CONTROL_SLOTS * numWorkers),
    pending: new SharedArrayBuffer(4),
    actions: f64(numEnvs * sizes.action),
    observation: f64(numEnvs * sizes.observation),
    achievedGoal: f64(numEnvs * sizes.goal),
    desiredGoal: f64(numEnvs * sizes.goal),
    finalObservation: f64(numEnvs * sizes.observation),
    finalAchievedGoal: f64(numEnvs * sizes.goal),
    reward: f64(numEnvs),
    flags: new SharedArrayBuffer(numEnvs),
    seeds: f64(numEnvs),
    errors: new SharedArrayBuffer(ERROR_BYTES * numWorkers),
  };
}
