import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { ArmpriorError } from '../../core/errors.js';
import { experimentStatus, type QueuedExperimentStatus, statusLines } from '../../queue/experiment-status.js';
import { openQueueConnection, queueUrl, redactUrl } from '../../queue/queue-connection.js';
import { DEFAULT_QUEUE_PREFIX } from '../../queue/queue-jobs.js';
import { type ExperimentSpec, submitExperiment } from '../../queue/submit-experiment.js';
import { createProgress, type Progress } from '../progress.js';

// `armprior experiment --queue`: the experiment's runs as jobs of a BullMQ queue on Redis, trained
// by `armprior worker`s (issue #20); and `armprior experiment status <id>`.

/** How often `--wait` and a watched status read the queue. */
const POLL_MS = 2000;

export interface QueueOptions {
  /** --queue: the URL, or true for ARMPRIOR_QUEUE_URL. */
  queue?: string | true;
  prefix: string;
  wait?: boolean;
}

/** The queue options of `experiment` and `worker`. */
export function addQueueOptions(command: Command, queueHelp: string): Command {
  return command
    .option(
      '--queue [url]',
      `${queueHelp} (redis://[user:password@]host:port[/db], rediss:// for TLS; without a URL: $ARMPRIOR_QUEUE_URL)`,
    )
    .option(
      '--prefix <name>',
      'key prefix of the queue in Redis (one per project sharing a Redis)',
      DEFAULT_QUEUE_PREFIX,
    );
}

/** Connects to the queue a command names; the caller quits the connection. */
export async function connectQueue(
  queue: string | true | undefined,
): Promise<{ connection: Redis; url: string }> {
  const url = queueUrl(queue === true ? undefined : queue);
  return { connection: await openQueueConnection(url), url };
}

/** Submits the experiment; with --wait, follows it to its end and prints its table. */
export async function submitToQueue(spec: ExperimentSpec, options: QueueOptions): Promise<void> {
  const { connection, url } = await connectQueue(options.queue);
  try {
    const submitted = await submitExperiment(connection, options.prefix, spec);
    process.stdout.write(
      `experiment ${submitted.experimentId}: ${submitted.queuedRuns} runs queued on ${redactUrl(url)}` +
        `${submitted.reusedRuns > 0 ? ` (${submitted.reusedRuns} finished runs reused)` : ''}\n` +
        `workers: armprior worker --queue <url> --runs ${spec.runsRoot}${options.prefix === 'armprior' ? '' : ` --prefix ${options.prefix}`}\n` +
        `watch:   armprior experiment status ${submitted.experimentId} --queue <url>\n`,
    );
    if (options.wait) await follow(connection, options.prefix, submitted.experimentId);
  } finally {
    connection.disconnect();
  }
}

/** Prints the state of a queued experiment and of each run. */
export async function printStatus(experimentId: string, options: QueueOptions): Promise<void> {
  const { connection } = await connectQueue(options.queue);
  try {
    if (options.wait) await follow(connection, options.prefix, experimentId);
    else
      process.stdout.write(
        `${statusLines(await experimentStatus(connection, options.prefix, experimentId)).join('\n')}\n`,
      );
  } finally {
    connection.disconnect();
  }
}

/** One bar over the env steps of all the runs until the experiment job ends; then its table, or its failure. */
async function follow(connection: Redis, prefix: string, experimentId: string): Promise<void> {
  let progress: Progress | undefined;
  let status: QueuedExperimentStatus;
  for (;;) {
    status = await experimentStatus(connection, prefix, experimentId);
    const total = status.runs.reduce((sum, r) => sum + r.totalSteps, 0);
    const done = status.runs.reduce(
      (sum, r) => sum + (r.state === 'completed' ? r.totalSteps : r.envSteps),
      0,
    );
    if (!progress) {
      progress = createProgress(`experiment ${experimentId}`, Math.max(1, total));
      // Followed midway (experiment status --wait): the rate counts what is done from now on.
      progress.continueFrom(done);
    }
    const finished = status.runs.filter((r) => r.state === 'completed').length;
    const training = status.runs.filter((r) => r.state === 'active').length;
    progress.update(done, `${finished}/${status.runs.length} runs done · ${training} training`);
    if (status.state === 'completed' || status.state === 'failed') break;
    await sleep(POLL_MS);
  }
  progress.stop();
  if (status.state === 'failed') {
    throw new ArmpriorError(
      'experiment_failed',
      `experiment ${experimentId} failed: ${status.failedReason ?? 'no reason given'}`,
    );
  }
  const result = status.result!;
  process.stdout.write(
    `\n${readFileSync(result.tableFile, 'utf8')}\ntable   ${result.tableFile}\ncurves  ${result.curveFiles.join('\n        ')}\nraw     ${result.jsonFile}\n`,
  );
}
