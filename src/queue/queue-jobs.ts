import { z } from 'zod';
import { ArmpriorError } from '../core/errors.js';
import { armpriorVersion } from '../core/paths.js';

// What travels through the queue: an experiment (the parent job of a BullMQ flow) and its runs
// (the children). Each job carries everything its worker needs but the shared run folders: the
// resolved config with the prior pinned, and the prior's code itself, so a worker needs no
// controller store and trains exactly what was submitted.

/** The queue names; the prefix (--prefix) keeps projects sharing one Redis apart. */
export const RUN_QUEUE = 'runs';
export const EXPERIMENT_QUEUE = 'experiments';
export const DEFAULT_QUEUE_PREFIX = 'armprior';

/** A job that does not fit this worker: another version of armprior made it, or it is not ours. */
export class QueueJobError extends ArmpriorError {
  constructor(message: string) {
    super('queue_job_invalid', message);
  }
}

// A job made by another armprior version is refused (its configs may mean other things).
export { armpriorVersion };

export const PriorSchema = z
  .object({
    task: z.string(),
    version: z.union([z.number().int().positive(), z.literal('bundled')]),
    code: z.string(),
    label: z.string(),
  })
  .strict();

const HeldOutSchema = z.object({ episodes: z.number().int().min(0), seed: z.number().int().min(0) }).strict();

/** One training run of an experiment. */
export const RunJobSchema = z
  .object({
    armprior: z.string(),
    experimentId: z.string(),
    /** runs.json's key: task/method/seed. */
    key: z.string(),
    label: z.string(),
    task: z.string(),
    method: z.string(),
    seed: z.number().int().min(0),
    robot: z.string(),
    /** Absolute; under runsRoot, which every worker must reach at the same path. */
    runDir: z.string(),
    runsRoot: z.string(),
    /** The resolved training config (validated again by the worker). */
    config: z.record(z.string(), z.unknown()),
    prior: PriorSchema.optional(),
    heldOut: HeldOutSchema,
    /** Wall clock the run trained for before this job (a continued run's earlier sittings). */
    wallClockSec: z.number().nonnegative(),
  })
  .strict();
export type RunJob = z.output<typeof RunJobSchema>;

/** What a run job returns: runs.json's entry for it. */
export const RunResultSchema = z
  .object({
    key: z.string(),
    runDir: z.string(),
    wallClockSec: z.number().nonnegative(),
    prior: z.object({ label: z.string(), sha256: z.string() }).strict().optional(),
    heldOut: z.object({ seed: z.number().int(), successes: z.string() }).strict().optional(),
  })
  .strict();
export type RunResult = z.output<typeof RunResultSchema>;

/** The experiment: everything `armprior experiment` needs to tabulate once its runs are done. */
export const ExperimentJobSchema = z
  .object({
    armprior: z.string(),
    experimentId: z.string(),
    tasks: z.array(z.string()),
    methods: z.array(z.string()),
    seeds: z.number().int().positive(),
    steps: z.number().int().positive(),
    baselineSteps: z.number().int().positive(),
    overrides: z.record(z.string(), z.unknown()),
    robot: z.string(),
    runsRoot: z.string(),
    outDir: z.string(),
    priors: z.record(z.string(), PriorSchema),
    threshold: z.number(),
    heldOut: HeldOutSchema,
  })
  .strict();
export type ExperimentJob = z.output<typeof ExperimentJobSchema>;

/** Progress a run job reports (job.updateProgress), for `experiment status` and `--wait`. */
export interface RunJobProgress {
  envSteps: number;
  totalSteps: number;
  status: string;
  /** Wall clock trained so far over every worker that held the job. */
  wallClockSec: number;
}

/** `data` as a job of `schema`, refused with one line when another armprior made it or it does not fit. */
export function parseJob<T extends { armprior: string }>(
  schema: z.ZodType<T>,
  data: unknown,
  what: string,
): T {
  const made = (data as { armprior?: unknown } | null)?.armprior;
  if (typeof made === 'string' && made !== armpriorVersion()) {
    throw new QueueJobError(
      `${what} was queued by armprior ${made}; this worker is armprior ${armpriorVersion()}: run workers of the version that queued it`,
    );
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new QueueJobError(
      `${what} is not an armprior job (${issue.path.join('.') || 'its data'}: ${issue.message})`,
    );
  }
  return parsed.data;
}
