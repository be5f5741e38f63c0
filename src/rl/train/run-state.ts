import { Rng } from '../../core/rng.js';
import type { Learner, LearnerState } from '../learner.js';
import { RunningNormalizer } from '../normalizer.js';
import type { ReplayBuffer } from '../replay-buffer.js';
import {
  type CheckpointArray,
  type CheckpointPayload,
  loadLatestCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
import type { PolicyAverage, PolicyAverageState } from './policy-average.js';
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
}

interface RunMeta {
  state: RunState & { nextEval: number | null; nextCheckpoint: number | null };
  rng: { collect: number[]; learn: number[] };
  normalizer: ReturnType<RunningNormalizer['getState']> | null;
  learner: { algorithm: string; counters: Record<string, number>; shapes: Record<string, number[]> };
  buffers: { online: number; demo: number; onlineCapacity: number; demoCapacity: number };
  /** Absent in checkpoints written before policy averaging. */
  average?: PolicyAverageState;
}

/** Finds and verifies the newest good checkpoint of a run (damaged ones skipped and listed). */
export function readRunCheckpoint(checkpoints: string): RunCheckpoint {
  const { payload, skipped } = loadLatestCheckpoint(checkpoints);
  const meta = payload.meta as unknown as RunMeta;
  return {
    step: payload.step,
    skipped,
    capacities: { online: meta.buffers.onlineCapacity, demo: meta.buffers.demoCapacity },
    payload,
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
  const { payload } = checkpoint;
  const meta = payload.meta as unknown as RunMeta;
  const learnerState: LearnerState = {
    algorithm: meta.learner.algorithm,
    counters: meta.learner.counters,
    tensors: {},
  };
  for (const [name, shape] of Object.entries(meta.learner.shapes)) {
    const data = payload.arrays[`learner/${name}`];
    if (!(data instanceof Float32Array)) throw new RangeError(`checkpoint lacks learner tensor ${name}`);
    learnerState.tensors[name] = { shape, data };
  }
  parts.learner.loadState(learnerState);
  const pick = (prefix: string) =>
    Object.fromEntries(
      Object.entries(payload.arrays)
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, v]) => [k.slice(prefix.length), v as Float64Array | Uint8Array]),
    );
  parts.online.restore({ added: meta.buffers.online, arrays: pick('online/') });
  parts.demo.restore({ added: meta.buffers.demo, arrays: pick('demo/') });
  parts.average.loadState(meta.average, pick('average/'), parts.learner.policyParameters().sizes);
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
