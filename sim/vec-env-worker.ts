import { parentPort, workerData } from 'node:worker_threads';
import { ArmpriorError } from '../src/core/errors.js';
import { ArmEnv, type GoalObservation } from './env.js';
import { ALL_DONE, CONTROL_SLOTS, ERROR_BYTES, Flag, Op, Slot, type WorkerInit } from './vec-env-protocol.js';

/**
 * A VecEnv worker: owns a slice of envs (with its own mujoco-js module) and serves commands
 * from the shared control array until told to close. Blocking in Atomics.wait is fine here:
 * this thread has nothing else to do.
 */
const init = workerData as WorkerInit;
const { sizes, buffers } = init;
const control = new Int32Array(buffers.control);
const pending = new Int32Array(buffers.pending);
const base = init.workerIndex * CONTROL_SLOTS;
const actions = new Float64Array(buffers.actions);
const observation = new Float64Array(buffers.observation);
const achievedGoal = new Float64Array(buffers.achievedGoal);
const desiredGoal = new Float64Array(buffers.desiredGoal);
const finalObservation = new Float64Array(buffers.finalObservation);
const finalAchievedGoal = new Float64Array(buffers.finalAchievedGoal);
const reward = new Float64Array(buffers.reward);
const flags = new Uint8Array(buffers.flags);
const seeds = new Float64Array(buffers.seeds);
const errorBytes = new Uint8Array(buffers.errors, init.workerIndex * ERROR_BYTES, ERROR_BYTES);

const envs: ArmEnv[] = [];

function writeObs(
  index: number,
  obs: GoalObservation,
  obsOut: Float64Array,
  achOut: Float64Array,
  withDesired: boolean,
): void {
  obsOut.set(obs.observation, index * sizes.observation);
  achOut.set(obs.achievedGoal, index * sizes.goal);
  if (withDesired) desiredGoal.set(obs.desiredGoal, index * sizes.goal);
}

function runReset(): void {
  for (let k = 0; k < envs.length; k++) {
    const index = init.firstEnv + k;
    const { obs, info } = envs[k]!.reset({ seed: seeds[index]! });
    writeObs(index, obs, observation, achievedGoal, true);
    reward[index] = 0;
    flags[index] = info.isSuccess ? Flag.success : 0;
  }
}

function runStep(): void {
  const a = sizes.action;
  for (let k = 0; k < envs.length; k++) {
    const index = init.firstEnv + k;
    const env = envs[k]!;
    const result = env.step(actions.subarray(index * a, index * a + a));
    reward[index] = result.reward;
    let f = 0;
    if (result.terminated) f |= Flag.terminated;
    if (result.truncated) f |= Flag.truncated;
    if (result.info.isSuccess) f |= Flag.success;
    if (result.info.simUnstable) f |= Flag.unstable;
    flags[index] = f;
    if (result.terminated || result.truncated) {
      // Auto-reset (SB3 convention): the final observation goes aside, the new episode's first
      // one takes its place. The env's RNG continues, exactly as a sequential env.reset().
      writeObs(index, result.obs, finalObservation, finalAchievedGoal, false);
      const next = env.reset();
      writeObs(index, next.obs, observation, achievedGoal, true);
    } else {
      writeObs(index, result.obs, observation, achievedGoal, true);
    }
  }
}

function reportError(error: unknown): void {
  const payload = JSON.stringify({
    code: error instanceof ArmpriorError ? error.code : 'worker_failed',
    message: error instanceof Error ? error.message : String(error),
  });
  const encoded = new TextEncoder().encode(payload).subarray(0, ERROR_BYTES - 4);
  new DataView(errorBytes.buffer, errorBytes.byteOffset).setUint32(0, encoded.length, true);
  errorBytes.set(encoded, 4);
}

/**
 * How long a worker polls for the next command before it sleeps. Waking a thread blocked in
 * Atomics.wait costs ~35 µs here, and the main thread usually sends the next step within this
 * window. Measured with `armprior bench sim` (4 envs, 2 workers vs 1): 1.51× without polling,
 * 1.86× with it. Polling workers do not starve the main thread: the OS preempts them for it.
 */
const SPIN_BEFORE_SLEEP_MS = 0.2;

/** Returns once the main thread has issued a command after `seen`. */
function awaitCommand(seen: number): void {
  const start = performance.now();
  while (
    Atomics.load(control, base + Slot.command) === seen &&
    performance.now() - start < SPIN_BEFORE_SLEEP_MS
  ) {
    // Polling: see SPIN_BEFORE_SLEEP_MS.
  }
  // A wake-up does not mean a new command: the main thread may be preempted between issuing
  // command k and notifying, while this worker (polling) already ran k and went back to sleep;
  // the late notify then wakes it with nothing new. Running k again broke the step barrier
  // (seen in a stress run), so sleep until the command number really moved.
  while (Atomics.load(control, base + Slot.command) === seen)
    Atomics.wait(control, base + Slot.command, seen);
}

async function main(): Promise<void> {
  try {
    for (let k = 0; k < init.envCount; k++) {
      envs.push(
        await ArmEnv.create({ task: init.task, robot: init.robot, taskOverrides: init.taskOverrides }),
      );
    }
  } catch (error) {
    parentPort!.postMessage({
      type: 'failed',
      code: error instanceof ArmpriorError ? error.code : 'worker_failed',
      message: error instanceof Error ? error.message : String(error),
    });
    return;
  }
  parentPort!.postMessage({ type: 'ready' });
  let seen = 0;
  for (;;) {
    awaitCommand(seen);
    seen = Atomics.load(control, base + Slot.command);
    const op = Atomics.load(control, base + Slot.op);
    let status = 0;
    try {
      if (op === Op.reset) runReset();
      else if (op === Op.step) runStep();
      else if (op === Op.close) for (const env of envs) env.close();
    } catch (error) {
      reportError(error);
      status = 1;
    }
    Atomics.store(control, base + Slot.status, status);
    Atomics.store(control, base + Slot.done, seen);
    // The last worker to finish wakes the main thread with a message. (Not Atomics.notify on a
    // main-thread Atomics.waitAsync: in Node 20 its promise does not reliably wake the event
    // loop, nodejs/node#44729, and a bench run hung on it.)
    if (Atomics.sub(pending, 0, 1) === 1) parentPort!.postMessage(ALL_DONE);
    if (op === Op.close) return;
  }
}

void main();
