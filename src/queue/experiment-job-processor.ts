import { type Job, UnrecoverableError } from 'bullmq';
import { runExperiment } from '../rl/experiment/experiment.js';
import { ExperimentManifest } from '../rl/experiment/experiment-manifest.js';
import type { ExperimentMethod } from '../rl/experiment/methods.js';
import { ExperimentJobSchema, parseJob, RunResultSchema } from './queue-jobs.js';

/** What the experiment job returns: where its results are. */
export interface ExperimentJobResult {
  tableFile: string;
  jsonFile: string;
  curveFiles: string[];
}

/**
 * The experiment's own job, run once every run job has ended: lists the runs' folders and
 * held-out scores in runs.json, then writes the table and the curves exactly as a local
 * `armprior experiment` does (its code, told to train nothing). Runs that failed are named and
 * the experiment fails; those that finished stay listed, so queueing it again trains only those.
 */
export async function processExperimentJob(job: Job, runsRoot: string): Promise<ExperimentJobResult> {
  let data: ReturnType<typeof parseExperiment>;
  try {
    data = parseExperiment(job);
  } catch (error) {
    throw new UnrecoverableError((error as Error).message);
  }
  if (data.runsRoot !== runsRoot) {
    throw new UnrecoverableError(
      `experiment ${data.experimentId}: its run folders are under ${data.runsRoot}, this worker's under ${runsRoot}`,
    );
  }
  const manifest = ExperimentManifest.open(data.outDir);
  const values = await job.getChildrenValues<unknown>();
  for (const value of Object.values(values)) {
    const run = RunResultSchema.parse(value);
    manifest.set(run.key, {
      runDir: run.runDir,
      wallClockSec: run.wallClockSec,
      ...(run.prior ? { prior: run.prior } : {}),
      ...(run.heldOut ? { heldOut: run.heldOut } : {}),
    });
  }
  const failures = Object.entries(await job.getIgnoredChildrenFailures());
  if (failures.length > 0) {
    const lines = failures.map(([child, reason]) => `${child.split(':').at(-1)}: ${reason}`);
    throw new UnrecoverableError(
      `${failures.length} run${failures.length === 1 ? '' : 's'} failed (the others are listed in ${manifest.file}; queue the experiment again to retry): ${lines.join('; ')}`,
    );
  }
  const result = await runExperiment({
    tasks: data.tasks,
    methods: data.methods as ExperimentMethod[],
    seeds: data.seeds,
    steps: data.steps,
    baselineSteps: data.baselineSteps,
    overrides: data.overrides,
    robot: data.robot,
    runsRoot: data.runsRoot,
    outDir: data.outDir,
    priorFor: (task) => data.priors[task]!,
    threshold: data.threshold,
    heldOutEpisodes: data.heldOut.episodes,
    heldOutSeed: data.heldOut.seed,
    reuseOnly: true,
  });
  if (result.stopped) throw new Error('a tabulating experiment stopped: it trains nothing to stop');
  return { tableFile: result.tableFile, jsonFile: result.jsonFile, curveFiles: result.curveFiles };
}

function parseExperiment(job: Job) {
  return parseJob(ExperimentJobSchema, job.data, `experiment job ${job.id}`);
}
