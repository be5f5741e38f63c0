import { z } from 'zod';
import { messageOf } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { Learner, LearnerState } from '../learner.js';
import { RunningNormalizer } from '../normalizer.js';
import { type ReplayBuffer, snapshotProblem } from '../replay-buffer.js';
import {
  type CheckpointArray,
  CheckpointError,
  type CheckpointPayload,
  describeIssues,
  loadLatestCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
import type { PolicyAverage } from './policy-average.js';
import type { PolicyEvaluation } from './policy-evaluation.js';

/** The training loop's own counters: all plain numbers, saved in every checkpoint. */
export interface RunState {
  envSteps: number;
  rounds: number;
  episodes: number;
  precollected: number;
  /** Fractional gradient steps owed (gradientStepsPerEnvStep need not be whole). */
  updateCredit: number;
  rejectedUpdates: number;
  priorAbortedEpisodes: number;
  recentSuccess: number[];
  recentReturn: number[];
  nextLog: number;
  nextEval: number;
  nextCheckpoint: number;
  /** Sums and counts of the values averaged into the next train record. */
  sums: Record<string, number>;
  counts: Record<string, number>;
  priorActedSteps: number;
  collectedSteps: number;
  demosLoaded: boolean;
  /** The offline updates on the demonstrations (rlingua.pretrainUpdates) are done. */
  pretrained: boolean;
  lastEval: PolicyEvaluation | undefined;
  lastEvalStep: number;
  /** The prior has kept state in ctx.memory (rlingua.labelPolicySteps: auto); absent in older checkpoints. */
  priorKeepsMemory?: boolean;
}

/** Everything a checkpoint captures. */
export interface RunParts {
  state: RunState;
  collectRng: Rng;
  learnRng: Rng;
  normalizer: RunningNormalizer | undefined;
  online: ReplayBuffer;
  demo: ReplayBuffer;
  learner: Learner;
  /** The mean of the late policies (policyAveraging), evaluated and exported once it holds one. */
  average: PolicyAverage;
}

/** Writes a checkpoint of the whole run at `state.envSteps`. */
export function saveRun(checkpoints: string, keep: number, parts: RunParts): string {
  const learnerState = parts.learner.getState();
  const arrays: Record<string, CheckpointArray> = {};
  for (const [name, tensor] of Object.entries(learnerState.tensors)) arrays[`learner/${name}`] = tensor.data;
  const online = parts.online.snapshot();
  const demo = parts.demo.snapshot();
  for (const [name, array] of Object.entries(online.arrays)) arrays[`online/${name}`] = array;
  for (const [name, array] of Object.entries(demo.arrays)) arrays[`demo/${name}`] = array;
  const average = parts.average.getState();
  for (const [name, array] of Object.entries(average.arrays)) arrays[`average/${name}`] = array;
  const meta = {
    // JSON cannot hold Infinity: a disabled schedule is stored as null.
    state: {
      ...parts.state,
      nextEval: finiteOrNull(parts.state.nextEval),
      nextCheckpoint: finiteOrNull(parts.state.nextCheckpoint),
    },
    rng: { collect: parts.collectRng.getState(), learn: parts.learnRng.getState() },
    normalizer: parts.normalizer?.getState() ?? null,
    learner: {
      algorithm: learnerState.algorithm,
      counters: learnerState.counters,
      shapes: Object.fromEntries(Object.entries(learnerState.tensors).map(([k, t]) => [k, t.shape])),
    },
    buffers: {
      online: online.added,
      demo: demo.added,
      onlineCapacity: parts.online.capacity,
      demoCapacity: parts.demo.capacity,
    },
    average: average.state,
  };
  return saveCheckpoint(checkpoints, parts.state.envSteps, { meta, arrays }, keep);
}

/** A run checkpoint as read from disk, before it is put back into the training objects. */
export interface RunCheckpoint {
  step: number;
  skipped: { dir: string; reason: string }[];
  /** Capacities the buffers were built with: a resumed run must build them the same. */
  capacities: { online: number; demo: number };
  payload: CheckpointPayload;
  /** payload.meta, checked. */
  meta: RunMeta;
}

const count = z.number().int().nonnegative();
const finiteList = z.array(z.number());

/**
 * meta.json of a run checkpoint. Checked before anything is restored, so a checkpoint whose
 * files verify but whose content is malformed is skipped like a corrupted one (issue #17).
 * Objects are loose: fields a later armprior adds do not make a checkpoint unreadable.
 */
const RunMetaSchema = z.looseObject({
  state: z.looseObject({
    envSteps: count,
    rounds: count,
    episodes: count,
    precollected: count,
    updateCredit: z.number().nonnegative(),
    rejectedUpdates: count,
    priorAbortedEpisodes: count,
    recentSuccess: finiteList,
    recentReturn: finiteList,
    nextLog: count,
    // JSON cannot hold Infinity: a disabled schedule is stored as null.
    nextEval: count.nullable(),
    nextCheckpoint: count.nullable(),
    sums: z.record(z.string(), z.number()),
    counts: z.record(z.string(), count),
    priorActedSteps: count,
    collectedSteps: count,
    demosLoaded: z.boolean(),
    pretrained: z.boolean(),
    lastEval: z.looseObject({ episodes: count, successRate: z.number(), meanReturn: z.number() }).optional(),
    lastEvalStep: z.number().int().min(-1),
    priorKeepsMemory: z.boolean().optional(),
  }),
  rng: z.object({ collect: finiteList, learn: finiteList }),
  normalizer: z
    .object({
      size: count,
      clip: z.number(),
      epsilon: z.number(),
      count: z.number().nonnegative(),
      mean: finiteList,
      m2: finiteList,
    })
    .nullable(),
  learner: z.object({
    algorithm: z.string(),
    counters: z.record(z.string(), z.number()),
    shapes: z.record(z.string(), z.array(z.number().int().positive())),
  }),
  buffers: z.object({
    online: count,
    demo: count,
    onlineCapacity: count.min(1),
    demoCapacity: count.min(1),
  }),
  /** Absent in checkpoints written before policy averaging. */
  average: z.object({ count, lastStep: z.number().nullable() }).optional(),
});
type RunMeta = z.infer<typeof RunMetaSchema>;

/**
 * Checks a run checkpoint's content against itself: meta.json's shape, the RNG and normaliser
 * states, every learner tensor the meta names present with its shape's size, both buffers'
 * arrays whole. A problem is a CheckpointError (the checkpoint is skipped, kept on disk); what
 * does not fit this run (another network size or task) is refused later, when it is applied.
 */
function parseRunMeta(payload: CheckpointPayload & { step: number }, dir: string): RunMeta {
  const bad = (problem: string) => new CheckpointError(`${dir}: malformed run state: ${problem}`);
  const parsed = RunMetaSchema.safeParse(payload.meta);
  if (!parsed.success) throw bad(`meta.json: ${describeIssues(parsed.error)}`);
  const meta = parsed.data;
  if (meta.state.envSteps !== payload.step)
    throw bad(`meta.json is at ${meta.state.envSteps} env steps, the manifest at ${payload.step}`);
  for (const [name, state] of Object.entries(meta.rng)) {
    try {
      checkRngState(state);
    } catch (error) {
      throw bad(`rng.${name}: ${messageOf(error)}`);
    }
  }
  if (meta.normalizer) {
    try {
      RunningNormalizer.fromState(meta.normalizer);
    } catch (error) {
      throw bad(`normalizer: ${messageOf(error)}`);
    }
  }
  for (const [name, shape] of Object.entries(meta.learner.shapes)) {
    const data = payload.arrays[`learner/${name}`];
    const size = shape.reduce((a, b) => a * b, 1);
    if (!(data instanceof Float32Array) || data.length !== size)
      throw bad(`learner tensor ${name} is missing or does not hold its ${size} values`);
  }
  const buffers = [
    ['online', meta.buffers.online, meta.buffers.onlineCapacity],
    ['demo', meta.buffers.demo, meta.buffers.demoCapacity],
  ] as const;
  for (const [prefix, added, capacity] of buffers) {
    const problem = snapshotProblem({ added, arrays: arraysUnder(payload, `${prefix}/`) }, capacity);
    if (problem !== undefined) throw bad(`${prefix} buffer: ${problem}`);
  }
  return meta;
}

/** An RNG state as Rng.getState writes it: a spare flag, the spare, four 32-bit words. */
function checkRngState(state: readonly number[]): void {
  const [flag, spare, ...words] = state;
  if (
    state.length !== Rng.fromSeed(0).getState().length ||
    (flag !== 0 && flag !== 1) ||
    !Number.isFinite(spare) ||
    !words.every((w) => Number.isInteger(w) && w >= -(2 ** 31) && w < 2 ** 32)
  ) {
    throw new Error(`[${state.join(', ')}] is not a generator state`);
  }
  Rng.fromState(state);
}

function arraysUnder(payload: CheckpointPayload, prefix: string): Record<string, CheckpointArray> {
  return Object.fromEntries(
    Object.entries(payload.arrays)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

/** Finds the newest good checkpoint of a run: files verified, content checked (damaged ones skipped and listed). */
export function readRunCheckpoint(checkpoints: string): RunCheckpoint {
  const { payload, parsed: meta, skipped } = loadLatestCheckpoint(checkpoints, parseRunMeta);
  return {
    step: payload.step,
    skipped,
    capacities: { online: meta.buffers.onlineCapacity, demo: meta.buffers.demoCapacity },
    payload,
    meta,
  };
}

/**
 * Puts a checkpoint back into freshly built parts: counters in place, buffers, normaliser and
 * learner. Returns the restored RNGs. A learner of another size or algorithm is refused
 * (LearnerStateMismatchError, naming the tensors that differ).
 */
export function applyRunCheckpoint(
  checkpoint: RunCheckpoint,
  parts: Omit<RunParts, 'collectRng' | 'learnRng'>,
): { collectRng: Rng; learnRng: Rng } {
  const { payload, meta } = checkpoint;
  const learnerState: LearnerState = {
    algorithm: meta.learner.algorithm,
    counters: meta.learner.counters,
    tensors: {},
  };
  for (const [name, shape] of Object.entries(meta.learner.shapes)) {
    const data = payload.arrays[`learner/${name}`];
    if (!(data instanceof Float32Array)) throw new Error(`checkpoint lacks learner tensor ${name}`);
    learnerState.tensors[name] = { shape, data };
  }
  parts.learner.loadState(learnerState);
  const pick = (prefix: string) => arraysUnder(payload, prefix) as Record<string, Float64Array | Uint8Array>;
  parts.online.restore({ added: meta.buffers.online, arrays: pick('online/') });
  parts.demo.restore({ added: meta.buffers.demo, arrays: pick('demo/') });
  // A lastStep of null is -Infinity through JSON: an empty mean (count 0), which loadState ignores.
  const average = meta.average && { count: meta.average.count, lastStep: meta.average.lastStep ?? -Infinity };
  parts.average.loadState(average, pick('average/'), parts.learner.policyParameters().sizes);
  if (parts.normalizer && meta.normalizer)
    parts.normalizer.loadFrom(RunningNormalizer.fromState(meta.normalizer));
  Object.assign(parts.state, {
    ...meta.state,
    nextEval: meta.state.nextEval ?? Number.POSITIVE_INFINITY,
    nextCheckpoint: meta.state.nextCheckpoint ?? Number.POSITIVE_INFINITY,
  });
  return { collectRng: Rng.fromState(meta.rng.collect), learnRng: Rng.fromState(meta.rng.learn) };
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
