import { FlowProducer, type Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BadInputError } from '../core/errors.js';
import type { ExperimentJobResult } from './experiment-job-processor.js';
import { type JobInState, readFlowSnapshot } from './flow-snapshot.js';
import { EXPERIMENT_QUEUE, type RunJobProgress } from './queue-jobs.js';

/** One run of a queued experiment, as `experiment status` shows it. */
export interface QueuedRunStatus {
  label: string;
  /** BullMQ's state: waiting, active, delayed, completed, failed… */
  state: string;
  /** The worker that holds (or last held) it. */
  worker: string | undefined;
  envSteps: number;
  totalSteps: number;
  status: string | undefined;
  failedReason: string | undefined;
  /** Where it trains (or will): its run folder. */
  runDir: string;
}

export interface QueuedExperimentStatus {
  experimentId: string;
  /** The experiment job's state: waiting-children while runs remain, then waiting, active, completed or failed. */
  state: string;
  failedReason: string | undefined;
  result: ExperimentJobResult | undefined;
  runs: QueuedRunStatus[];
}

/** The state of a queued experiment and of each of its runs, read from the queue. */
export async function experimentStatus(
  connection: Redis,
  prefix: string,
  experimentId: string,
): Promise<QueuedExperimentStatus> {
  const flows = new FlowProducer({ connection, prefix });
  try {
    const tree = await readFlowSnapshot(flows, { id: experimentId, queueName: EXPERIMENT_QUEUE, prefix });
    if (!tree) {
      throw new BadInputError(`the queue holds no experiment ${experimentId} (under the prefix '${prefix}')`);
    }
    const runs = tree.children.map(runStatus);
    runs.sort((a, b) => a.label.localeCompare(b.label));
    return {
      experimentId,
      state: tree.state,
      failedReason: tree.job.failedReason || undefined,
      result: (tree.job.returnvalue as ExperimentJobResult | null) ?? undefined,
      runs,
    };
  } finally {
    await flows.close();
  }
}

function runStatus({ job, state }: JobInState): QueuedRunStatus {
  const progress = (typeof job.progress === 'object' ? job.progress : {}) as Partial<RunJobProgress>;
  const data = job.data as { label?: string; runDir?: string; config?: { totalSteps?: number } };
  return {
    label: data.label ?? String(job.id),
    state,
    worker: job.processedBy,
    envSteps: progress.envSteps ?? 0,
    totalSteps: progress.totalSteps ?? data.config?.totalSteps ?? 0,
    status: progress.status,
    failedReason: job.failedReason || undefined,
    // A run the worker moved to a new folder (it died before the first checkpoint) says so when it ends.
    runDir: (job.returnvalue as { runDir?: string } | null)?.runDir ?? data.runDir ?? '',
  };
}

/** The newest `limit` experiments of the queue, newest first, each with its runs. */
export async function recentExperiments(
  connection: Redis,
  prefix: string,
  limit: number,
): Promise<QueuedExperimentStatus[]> {
  const queue = new Queue(EXPERIMENT_QUEUE, { connection, prefix });
  let jobs: Job[];
  try {
    jobs = await queue.getJobs(['waiting-children', 'waiting', 'active', 'delayed', 'completed', 'failed']);
  } finally {
    await queue.close();
  }
  const newest = jobs
    .filter((job) => job?.id !== undefined)
    .sort((a, b) => b.timestamp - a.timestamp)
    .slice(0, limit);
  return Promise.all(newest.map((job) => experimentStatus(connection, prefix, job.id!)));
}

/** The table `experiment status` prints: one line per run. */
export function statusLines(status: QueuedExperimentStatus): string[] {
  const lines = [`experiment ${status.experimentId}: ${describeExperiment(status)}`];
  for (const run of status.runs) {
    const where = run.worker ? ` on ${run.worker}` : '';
    const steps = run.totalSteps > 0 ? ` ${run.envSteps}/${run.totalSteps} steps` : '';
    const detail =
      run.state === 'failed'
        ? `: ${run.failedReason ?? 'no reason given'}`
        : run.state === 'active' && run.status
          ? ` · ${run.status}`
          : '';
    lines.push(
      `  ${run.label.padEnd(36)} ${run.state}${run.state === 'active' || run.state === 'completed' ? where : ''}${run.state === 'active' ? steps : ''}${detail}`,
    );
  }
  if (status.result)
    lines.push(`table   ${status.result.tableFile}`, `curves  ${status.result.curveFiles.join(' ')}`);
  return lines;
}

/** One line on the experiment: its runs done and training, or how it ended. */
export function describeExperiment(status: QueuedExperimentStatus): string {
  const done = status.runs.filter((r) => r.state === 'completed').length;
  const counts = `${done} of ${status.runs.length} runs done`;
  switch (status.state) {
    case 'completed':
      return `finished (${counts})`;
    case 'failed':
      return `failed: ${status.failedReason ?? 'no reason given'}`;
    case 'waiting-children':
      return `${counts}, ${status.runs.filter((r) => r.state === 'active').length} training`;
    default:
      return `${counts}; writing the table (${status.state})`;
  }
}
