import { existsSync, readdirSync } from 'node:fs';
import { DelayedError, type Job, UnrecoverableError, WaitingError } from 'bullmq';
import { ArmEnv } from '../../sim/env.js';
import { evaluationSeeds } from '../controllers/evaluate.js';
import { ArmpriorError } from '../core/errors.js';
import { priorIdentity, successRecord } from '../rl/experiment/experiment-manifest.js';
import { policySuccesses } from '../rl/experiment/held-out.js';
import { trainLocked } from '../rl/experiment/run-training.js';
import { listCheckpoints } from '../rl/train/checkpoint.js';
import { newRunDir, readRunInfo, runFiles } from '../rl/train/run-dir.js';
import { RunLockedError, runStatus } from '../rl/train/run-lock.js';
import { TrainConfigSchema } from '../rl/train/train-config.js';
import type { TrainProgress } from '../rl/train/train-options.js';
import { parseJob, type RunJob, type RunJobProgress, RunJobSchema, type RunResult } from './queue-jobs.js';

/** How long a run whose folder another process holds waits before a worker tries it again. */
const LOCKED_RETRY_MS = 15_000;
/** How often a run's progress is written to its job (Redis), at most. */
const PROGRESS_EVERY_MS = 1000;

export interface RunJobContext {
  /** The worker's --runs, resolved: a job for another folder is refused. */
  runsRoot: string;
  /** True once the worker is asked to stop: the run stops after its round and the job goes back. */
  stopping: () => boolean;
  /** Plain lines for the worker's log. */
  log: (line: string) => void;
  statusOf: (progress: TrainProgress) => string;
}

/**
 * Trains one run job to its end and scores its final policy on the held-out episodes; the return
 * value is the run list's entry for it. Continues the folder's newest checkpoint when there is one
 * (a worker that died left it), so a run killed on one worker finishes on another with the
 * metrics it would have had. Stopped on request, the job goes back to the queue's front.
 */
export async function processRunJob(
  job: Job,
  token: string | undefined,
  signal: AbortSignal | undefined,
  context: RunJobContext,
): Promise<RunResult> {
  const data = unrecoverable(() => parseJob(RunJobSchema, job.data, `run job ${job.id}`));
  const config = unrecoverable(() => validConfig(data));
  if (data.runsRoot !== context.runsRoot) {
    throw new UnrecoverableError(
      `${data.label}: its run folders are under ${data.runsRoot}, this worker's under ${context.runsRoot}`,
    );
  }
  const runDir = runFolder(data);
  const identity = data.prior ? priorIdentity(data.prior) : undefined;
  const before = previousWallClock(job, data);
  let trainedSec = 0;
  if (!finished(runDir)) {
    const resume = listCheckpoints(runFiles(runDir).checkpoints).length > 0;
    context.log(`${data.label}: ${resume ? 'continuing' : 'training'} ${runDir}`);
    const started = performance.now();
    let lastReport = 0;
    let lastTenth = -1;
    const report = (progress: TrainProgress) => {
      // A line per tenth of the run in the worker's log (a worker is watched as a log, not a bar).
      const tenth = Math.floor((10 * progress.envSteps) / Math.max(1, progress.totalSteps));
      if (tenth > lastTenth) {
        lastTenth = tenth;
        context.log(
          `${data.label}: ${progress.envSteps}/${progress.totalSteps} steps · ${context.statusOf(progress)}`,
        );
      }
      const now = performance.now();
      if (now - lastReport < PROGRESS_EVERY_MS) return;
      lastReport = now;
      const update: RunJobProgress = {
        envSteps: progress.envSteps,
        totalSteps: progress.totalSteps,
        status: context.statusOf(progress),
        wallClockSec: before + (now - started) / 1000,
      };
      // Progress is for people watching; a lost update is replaced a second later.
      job.updateProgress(update as unknown as object).catch(() => {});
    };
    try {
      const trained = await trainLocked(
        { ...data, runDir, config, resume, prior: data.prior },
        {
          command: 'armprior worker',
          continuedBy: 'a worker of the queue',
          onProgress: report,
          shouldStop: () => context.stopping() || signal?.aborted === true,
          onNotice: (message) => context.log(`${data.label}: ${message}`),
        },
      );
      trainedSec = (performance.now() - started) / 1000;
      if (trained.interrupted) {
        context.log(`${data.label}: stopped at ${trained.envSteps} steps, checkpointed; back to the queue`);
        await job.updateProgress({ ...(job.progress as object), wallClockSec: before + trainedSec });
        await job.moveToWait(token);
        throw new WaitingError();
      }
    } catch (error) {
      if (error instanceof RunLockedError) {
        // Another process trains it (a worker BullMQ took for dead is still alive): try later.
        context.log(`${data.label}: ${error.message}; trying again in ${LOCKED_RETRY_MS / 1000} s`);
        await job.moveToDelayed(Date.now() + LOCKED_RETRY_MS, token);
        throw new DelayedError();
      }
      // Bad input does not get better by trying again.
      if (error instanceof ArmpriorError && error.code !== 'disk_full')
        throw new UnrecoverableError(error.message);
      throw error;
    }
  }
  const heldOut = await scoreHeldOut(data, runDir);
  context.log(`${data.label}: done`);
  return {
    key: data.key,
    runDir,
    wallClockSec: before + trainedSec,
    ...(identity ? { prior: identity } : {}),
    ...(heldOut ? { heldOut } : {}),
  };
}

function unrecoverable<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UnrecoverableError((error as Error).message);
  }
}

function validConfig(data: RunJob) {
  const parsed = TrainConfigSchema.safeParse(data.config);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
  throw new ArmpriorError(
    'config_invalid',
    `${data.label}: its config no longer validates (${problems.join('; ')}); queue the experiment again`,
  );
}

/**
 * The folder the job trains in: the one it was given, unless a worker died there before the
 * first checkpoint (nothing to continue, and `train` does not start over in a used folder):
 * then a new one beside it. The job's result names the folder, and the run list takes it.
 */
function runFolder(data: RunJob): string {
  const dir = data.runDir;
  if (!existsSync(dir) || readdirSync(dir).length === 0) return dir;
  if (finished(dir) || listCheckpoints(runFiles(dir).checkpoints).length > 0) return dir;
  return newRunDir(data.runsRoot, data.task, data.method, data.seed);
}

function finished(runDir: string): boolean {
  if (!existsSync(runFiles(runDir).info)) return false;
  return runStatus(runDir, readRunInfo(runDir)) === 'finished';
}

/** The wall clock of the earlier sittings: the submission's, or what a worker that held the job last reported. */
function previousWallClock(job: Job, data: RunJob): number {
  const reported = (job.progress as Partial<RunJobProgress> | undefined)?.wallClockSec;
  return typeof reported === 'number' ? Math.max(reported, data.wallClockSec) : data.wallClockSec;
}

async function scoreHeldOut(data: RunJob, runDir: string): Promise<RunResult['heldOut']> {
  if (data.heldOut.episodes === 0) return undefined;
  const seeds = evaluationSeeds(data.heldOut.episodes, data.heldOut.seed);
  const env = await ArmEnv.create({ task: data.task, robot: data.robot });
  try {
    return successRecord(seeds, await policySuccesses(env, runFiles(runDir).policy, seeds));
  } finally {
    env.close();
  }
}
