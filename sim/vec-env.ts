import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ArmpriorError, InvalidActionError, WorkerError } from '../src/core/errors.js';
import { envSpaces } from './env.js';
import { createTask } from './tasks/registry.js';
import {
  ALL_DONE,
  allocateBuffers,
  CONTROL_SLOTS,
  ERROR_BYTES,
  Flag,
  Op,
  Slot,
  type VecBuffers,
  type WorkerInit,
} from './vec-env-protocol.js';

export interface VecEnvOptions {
  task: string;
  /** Robot name or YAML path (default panda). */
  robot?: string;
  taskOverrides?: Record<string, unknown>;
  numEnvs: number;
  /** Worker threads (each loads its own mujoco-js); default min(numEnvs, 2). */
  numWorkers?: number;
  /** Env i is seeded with seed + i at reset. */
  seed?: number;
}

/** Batched observations: env i's vector at [i * size, (i + 1) * size). */
export interface VecObservation {
  observation: Float64Array;
  achievedGoal: Float64Array;
  desiredGoal: Float64Array;
}

export interface VecStepResult extends VecObservation {
  reward: Float64Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  isSuccess: Uint8Array;
  simUnstable: Uint8Array;
  /** For envs whose episode ended this step (terminated or truncated): its last observation. */
  finalObservation: Float64Array;
  finalAchievedGoal: Float64Array;
}

/**
 * N envs stepped in worker threads, one mujoco-js module per worker, with automatic reset:
 * when env i's episode ends, `observation` holds the first observation of its next episode and
 * `finalObservation` the last of the one that ended (Stable-Baselines3's convention). Results
 * equal those of N sequential {@link ArmEnv}s seeded seed + i and reset without a seed after
 * each episode.
 *
 * Stepping is asynchronous: the main thread is free (for a learner) while the workers simulate.
 */
export class VecEnv {
  readonly numEnvs: number;
  readonly numWorkers: number;
  readonly observationSize: number;
  readonly goalSize: number;
  readonly actionSize: number;
  private readonly workers: Worker[];
  private readonly buffers: VecBuffers;
  private readonly control: Int32Array;
  private readonly pending: Int32Array;
  private readonly seedBase: number;
  private failure: Error | undefined;
  private failureSignal: Promise<never>;
  private rejectFailure!: (error: Error) => void;
  private resolveAllDone: (() => void) | undefined;
  private busy = false;
  /** Set once close() starts: workers exiting from then on is expected. */
  private stopping = false;
  private closed = false;

  static async create(options: VecEnvOptions): Promise<VecEnv> {
    // The train config's schema and the bench options bound these for users: a bad count here is
    // a caller's bug (issue #18).
    if (!Number.isInteger(options.numEnvs) || options.numEnvs < 1) {
      throw new Error(`numEnvs must be a positive integer, got ${options.numEnvs}`);
    }
    const numWorkers = Math.min(options.numEnvs, options.numWorkers ?? 2);
    if (!Number.isInteger(numWorkers) || numWorkers < 1) {
      throw new Error(`numWorkers must be a positive integer, got ${options.numWorkers}`);
    }
    // Validates the task and its config here, on the main thread, before any worker starts.
    const task = createTask(options.task, options.taskOverrides);
    const vec = new VecEnv(options, numWorkers, envSpaces(task));
    try {
      await vec.started();
    } catch (error) {
      await vec.terminate();
      throw error;
    }
    return vec;
  }

  private constructor(
    options: VecEnvOptions,
    numWorkers: number,
    sizes: { observation: number; goal: number; action: number },
  ) {
    this.numEnvs = options.numEnvs;
    this.numWorkers = numWorkers;
    this.observationSize = sizes.observation;
    this.goalSize = sizes.goal;
    this.actionSize = sizes.action;
    this.seedBase = options.seed ?? 0;
    this.buffers = allocateBuffers(this.numEnvs, numWorkers, sizes);
    this.control = new Int32Array(this.buffers.control);
    this.pending = new Int32Array(this.buffers.pending);
    this.failureSignal = new Promise<never>((_, reject) => {
      this.rejectFailure = reject;
    });
    this.failureSignal.catch(() => {});
    const { url, execArgv } = workerEntry();
    this.workers = [];
    let first = 0;
    for (let w = 0; w < numWorkers; w++) {
      const count = Math.floor(this.numEnvs / numWorkers) + (w < this.numEnvs % numWorkers ? 1 : 0);
      const init: WorkerInit = {
        workerIndex: w,
        firstEnv: first,
        envCount: count,
        task: options.task,
        robot: options.robot,
        taskOverrides: options.taskOverrides ?? {},
        sizes,
        buffers: this.buffers,
      };
      first += count;
      const worker = new Worker(url, { workerData: init, execArgv });
      worker.on('message', (message: unknown) => this.onWorkerMessage(message));
      worker.on('error', (error) =>
        this.fail(new WorkerError(`VecEnv worker ${w} crashed: ${error.message}`, { cause: error })),
      );
      worker.on('exit', (code) => {
        if (!this.stopping)
          this.fail(new WorkerError(`VecEnv worker ${w} exited unexpectedly (code ${code})`));
      });
      this.workers.push(worker);
    }
  }

  /** Waits until every worker has built its envs, or reports the first that could not. */
  private async started(): Promise<void> {
    await Promise.race([
      Promise.all(
        this.workers.map(
          (worker) =>
            new Promise<void>((resolve, reject) => {
              worker.once('message', (msg: { type: string; code?: string; message?: string }) => {
                if (msg.type === 'ready') resolve();
                else
                  reject(
                    new ArmpriorError(msg.code ?? 'worker_failed', msg.message ?? 'worker failed to start'),
                  );
              });
            }),
        ),
      ),
      this.failureSignal,
    ]);
  }

  /** Resets every env: env i with `seed + i` (default: the creation seed). */
  async reset(options: { seed?: number } = {}): Promise<VecObservation> {
    const seed = options.seed ?? this.seedBase;
    const seeds = new Float64Array(this.buffers.seeds);
    for (let i = 0; i < this.numEnvs; i++) seeds[i] = seed + i;
    await this.run(Op.reset);
    return this.copyObservation();
  }

  /** Steps every env with its slice of `actions` (numEnvs × actionSize values). */
  async step(actions: ArrayLike<number>): Promise<VecStepResult> {
    const n = this.numEnvs * this.actionSize;
    if (actions.length !== n) {
      throw new InvalidActionError(
        `VecEnv.step takes ${this.numEnvs} envs × ${this.actionSize} values = ${n} numbers, got ${actions.length}`,
      );
    }
    const shared = new Float64Array(this.buffers.actions);
    for (let i = 0; i < n; i++) {
      const value = actions[i]!;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new InvalidActionError(
          `action of env ${Math.floor(i / this.actionSize)}, value ${i % this.actionSize}, is ${String(value)}; every value must be a finite number`,
        );
      }
      shared[i] = value;
    }
    await this.run(Op.step);
    const flags = new Uint8Array(this.buffers.flags);
    const pick = (bit: number) => Uint8Array.from(flags, (f) => ((f & bit) !== 0 ? 1 : 0));
    return {
      ...this.copyObservation(),
      reward: new Float64Array(this.buffers.reward).slice(0, this.numEnvs),
      terminated: pick(Flag.terminated),
      truncated: pick(Flag.truncated),
      isSuccess: pick(Flag.success),
      simUnstable: pick(Flag.unstable),
      finalObservation: new Float64Array(this.buffers.finalObservation).slice(
        0,
        this.numEnvs * this.observationSize,
      ),
      finalAchievedGoal: new Float64Array(this.buffers.finalAchievedGoal).slice(
        0,
        this.numEnvs * this.goalSize,
      ),
    };
  }

  /** Closes the envs and stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stopping = true;
    if (!this.failure && !this.busy) {
      try {
        await this.run(Op.close);
      } catch {
        // Closing anyway: the workers are terminated below.
      }
    }
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    this.stopping = true;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.rejectFailure(error);
  }

  /** Hands `op` to every worker and waits until all have done it. */
  private async run(op: number): Promise<void> {
    if (this.closed || (this.stopping && op !== Op.close)) throw new WorkerError('the VecEnv is closed');
    if (this.failure) throw this.failure;
    if (this.busy) throw new WorkerError('VecEnv: a reset or step is already in progress; await it first');
    this.busy = true;
    try {
      Atomics.store(this.pending, 0, this.numWorkers);
      for (let w = 0; w < this.numWorkers; w++) {
        const base = w * CONTROL_SLOTS;
        Atomics.store(this.control, base + Slot.op, op);
        Atomics.add(this.control, base + Slot.command, 1);
        Atomics.notify(this.control, base + Slot.command);
      }
      await Promise.race([this.allDone(), this.failureSignal]);
      for (let w = 0; w < this.numWorkers; w++) {
        if (Atomics.load(this.control, w * CONTROL_SLOTS + Slot.status) !== 0) throw this.workerError(w);
      }
    } finally {
      this.busy = false;
    }
  }

  /** Resolves when every worker has finished the current command (see {@link ALL_DONE}). */
  private allDone(): Promise<void> {
    if (Atomics.load(this.pending, 0) === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.resolveAllDone = resolve;
    });
  }

  private onWorkerMessage(message: unknown): void {
    if (message === ALL_DONE && this.resolveAllDone && Atomics.load(this.pending, 0) === 0) {
      const resolve = this.resolveAllDone;
      this.resolveAllDone = undefined;
      resolve();
    }
  }

  private workerError(w: number): Error {
    const bytes = new Uint8Array(this.buffers.errors, w * ERROR_BYTES, ERROR_BYTES);
    const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
    const { code, message } = JSON.parse(new TextDecoder().decode(bytes.slice(4, 4 + length))) as {
      code: string;
      message: string;
    };
    return code === 'action_invalid' ? new InvalidActionError(message) : new ArmpriorError(code, message);
  }

  private copyObservation(): VecObservation {
    return {
      observation: new Float64Array(this.buffers.observation).slice(0, this.numEnvs * this.observationSize),
      achievedGoal: new Float64Array(this.buffers.achievedGoal).slice(0, this.numEnvs * this.goalSize),
      desiredGoal: new Float64Array(this.buffers.desiredGoal).slice(0, this.numEnvs * this.goalSize),
    };
  }
}

/**
 * The worker's entry. Built code runs `vec-env-worker.js`. Sources (under vitest or tsx) need
 * TypeScript in the worker too, and workers do not inherit the parent's loader: a small
 * bootstrap registers tsx's loader, then imports the `.ts` worker.
 */
function workerEntry(): { url: URL; execArgv: string[] } {
  if (!import.meta.url.endsWith('.ts'))
    return { url: new URL('./vec-env-worker.js', import.meta.url), execArgv: [] };
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(
    /\.cjs$/,
    '.mjs',
  );
  const worker = new URL('./vec-env-worker.ts', import.meta.url).href;
  const bootstrap = `const { register } = await import(${JSON.stringify(tsxApi)}); register(); await import(${JSON.stringify(worker)});`;
  return { url: new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), execArgv: [] };
}
