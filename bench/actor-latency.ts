import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { observationFieldsOf } from '../sim/env.js';
import { createTask } from '../sim/tasks/registry.js';
import { policyActor } from '../src/control/actors.js';
import type { TimingSummary } from '../src/control/loop-contract.js';
import { summarizeTimings } from '../src/control/timing-stats.js';
import { Rng } from '../src/core/rng.js';
import { initMlp, type MlpParameters } from '../src/rl/graph/mlp.js';
import { RunningNormalizer } from '../src/rl/normalizer.js';
import { exportPolicy } from '../src/rl/policy-export.js';

/**
 * Writes an untrained policy for `task` (2 × 256 MLP, as training exports it, normaliser
 * inside): what the loop benchmark and the tests run when no trained policy is at hand.
 */
export function writeUntrainedPolicy(
  dir: string,
  taskName: string,
  seed: number,
  adjust?: (actor: MlpParameters) => void,
): string {
  const task = createTask(taskName);
  const fields = observationFieldsOf(task);
  const inputSize = fields.reduce((n, f) => n + f.size, 0) + 3;
  const actionSize = task.usesGripper ? 4 : 3;
  const actor = initMlp([inputSize, 256, 256, actionSize], Rng.fromSeed(seed));
  adjust?.(actor);
  const normalizer = new RunningNormalizer(inputSize, { clip: 5 });
  const file = join(dir, `${taskName}-untrained-${seed}.onnx`);
  writeFileSync(
    file,
    exportPolicy(actor, normalizer, {
      task: task.name,
      inputSize,
      actionSize,
      observationFields: [...fields.map((f) => f.name), ...task.goalFields.map((f) => `desired_${f.name}`)],
      algorithm: 'untrained',
    }),
  );
  return file;
}

/**
 * Latency of one ONNX policy call as the loop makes it (the actor's `act`: copy in, session
 * run, copy out), 2 × 256 MLP, batch 1, after a warm-up.
 */
export async function measureActorLatency(dir: string, calls: number): Promise<TimingSummary> {
  const task = createTask('push');
  const actor = await policyActor(writeUntrainedPolicy(dir, 'push', 0), task);
  try {
    const rng = Rng.fromSeed(1);
    const obs = {
      observation: Float64Array.from({ length: 18 }, () => rng.uniform(-0.3, 0.3)),
      achievedGoal: new Float64Array(3),
      desiredGoal: Float64Array.of(0.1, 0.1, 0.02),
    };
    for (let i = 0; i < 500; i++) await actor.act(obs);
    const samples = new Float64Array(calls);
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await actor.act(obs);
      samples[i] = performance.now() - t;
    }
    return summarizeTimings(samples);
  } finally {
    await actor.close();
  }
}
