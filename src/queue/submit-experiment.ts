import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { type FlowJob, FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BadInputError } from '../core/errors.js';
import { ExperimentManifest } from '../rl/experiment/experiment-manifest.js';
import type { ExperimentMethod } from '../rl/experiment/methods.js';
import { listRunToTrain, planRun } from '../rl/experiment/planned-run.js';
import {
  armpriorVersion,
  EXPERIMENT_QUEUE,
  type ExperimentJob,
  RUN_QUEUE,
  type RunJob,
} from './queue-jobs.js';
import { claimRunsFolder } from './shared-folders.js';

/** What `experiment --queue` submits: the experiment's plan, as a local experiment has it. */
export type ExperimentSpec = Omit<ExperimentJob, 'armprior' | 'experimentId'>;

export interface SubmittedExperiment {
  experimentId: string;
  /** Run jobs queued (new runs, and runs to continue from their checkpoints). */
  queuedRuns: number;
  /** Runs runs.json already holds finished with the same config: not queued again. */
  reusedRuns: number;
}

/** Tries of a run job (a worker's crash, a lost connection); a kill is a stall, counted apart. */
const RUN_ATTEMPTS = 3;

/**
 * Queues an experiment as a BullMQ flow: one child job per training run, the experiment as the
 * parent, which BullMQ hands to a worker once every child has ended and which then writes the
 * table and the curves as `armprior experiment` does. The run list (runs.json) is settled here,
 * as a local experiment does before it trains: finished runs are reused, stopped ones continued
 * in their folders, new ones get a folder now (so a job retried on another worker continues the
 * same folder).
 */
export async function submitExperiment(
  connection: Redis,
  prefix: string,
  spec: ExperimentSpec,
  now = new Date(),
): Promise<SubmittedExperiment> {
  await claimRunsFolder(connection, prefix, spec.runsRoot);
  await refuseWhileQueued(connection, prefix, spec.outDir);
  mkdirSync(spec.outDir, { recursive: true });
  const manifest = ExperimentManifest.open(spec.outDir);
  const experimentId = `exp-${now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  const children: FlowJob[] = [];
  let reusedRuns = 0;
  const runSpec = { ...spec, priorFor: (task: string) => spec.priors[task]! };
  for (const task of spec.tasks) {
    for (const method of spec.methods.filter((m) => m !== 'prior') as Exclude<ExperimentMethod, 'prior'>[]) {
      for (let seed = 0; seed < spec.seeds; seed++) {
        const run = planRun(runSpec, manifest, task, method, seed);
        if (run.previous.kind === 'reuse') {
          reusedRuns++;
          continue;
        }
        const { runDir, wallClockSec } = listRunToTrain(run, manifest, spec.runsRoot);
        const job: RunJob = {
          armprior: armpriorVersion(),
          experimentId,
          key: run.key,
          label: run.label,
          task,
          method,
          seed,
          robot: spec.robot,
          runDir,
          runsRoot: spec.runsRoot,
          config: JSON.parse(JSON.stringify(run.config)) as Record<string, unknown>,
          ...(run.prior ? { prior: run.prior } : {}),
          heldOut: spec.heldOut,
          wallClockSec,
        };
        children.push({
          name: 'run',
          queueName: RUN_QUEUE,
          data: job,
          opts: {
            jobId: `${experimentId}.${task}.${method}.${seed}`,
            attempts: RUN_ATTEMPTS,
            backoff: { type: 'exponential', delay: 10_000 },
            // A failed run must not leave the experiment waiting for ever (BullMQ's default):
            // the parent runs once the others end and names the failures.
            ignoreDependencyOnFailure: true,
          },
        });
      }
    }
  }
  const experiment: ExperimentJob = { armprior: armpriorVersion(), experimentId, ...spec };
  const flows = new FlowProducer({ connection, prefix });
  try {
    await flows.add({
      name: 'experiment',
      queueName: EXPERIMENT_QUEUE,
      data: experiment,
      opts: { jobId: experimentId },
      children,
    });
  } finally {
    await flows.close();
  }
  await connection.set(outKey(prefix, spec.outDir), experimentId);
  return { experimentId, queuedRuns: children.length, reusedRuns };
}

const outKey = (prefix: string, outDir: string) => `${prefix}:armprior:experiment-of:${outDir}`;

/**
 * The same experiment queued again while its first submission is still queued or training would
 * list new folders for the runs not yet finished and train them twice: refused, naming it.
 */
async function refuseWhileQueued(connection: Redis, prefix: string, outDir: string): Promise<void> {
  const previous = await connection.get(outKey(prefix, outDir));
  if (!previous) return;
  const queue = new Queue(EXPERIMENT_QUEUE, { connection, prefix });
  try {
    const state = await queue.getJobState(previous);
    if (state === 'completed' || state === 'failed' || state === 'unknown') return;
    throw new BadInputError(
      `${outDir} is the folder of experiment ${previous}, still ${state === 'waiting-children' ? 'training its runs' : state}: follow it with armprior experiment status ${previous}, or give another --out`,
    );
  } finally {
    await queue.close();
  }
}
