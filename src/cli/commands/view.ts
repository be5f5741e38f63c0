import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { BadInputError } from '../../core/errors.js';
import { describeExperiment, recentExperiments } from '../../queue/experiment-status.js';
import { redactUrl } from '../../queue/queue-connection.js';
import { curvesSvgForRuns } from '../../rl/experiment/run-plot.js';
import { createFeedbackRunner } from '../../viewer/feedback-runner.js';
import { isLoopbackHost, type QueueSource, startViewerServer } from '../../viewer/server.js';
import { integerOption } from '../options.js';
import { openStore } from '../prior-support.js';
import { addQueueOptions, connectQueue, type QueueOptions } from './experiment-queue.js';
import { chooseClient, withLlmOptions } from './prior-llm.js';

interface ViewOptions extends QueueOptions {
  port: number;
  host: string;
  priors?: string;
  runs: string;
  llm: string;
  llmConfig?: string;
  episodes: number;
  maxAttempts: number;
  robot: string;
}

/** `armprior view`: the local web page for replays, learning curves and feedback (issue #6). */
export function registerViewCommand(program: Command): void {
  const view = withLlmOptions(
    program
      .command('view')
      .description('a local web page: watch recorded episodes in 3D, compare learning curves, give feedback')
      .option('-p, --port <n>', 'port (0: a free one)', integerOption(0, 65_535), 8765)
      .option('--host <address>', 'address to bind (anything but loopback exposes your data)', '127.0.0.1')
      .option('--priors <dir>', 'the controller store (default ./priors)')
      .option('--runs <dir>', "the folder of run folders (with --queue: the queue's runs folder)", 'runs'),
  );
  addQueueOptions(
    view,
    "also show the experiments queued on this Redis: each run's state, its worker, its failure",
  ).action(async (options: ViewOptions) => {
    if (options.llm !== 'endpoint' && options.llm !== 'replay')
      throw new BadInputError(`--llm must be 'endpoint' or 'replay', got '${options.llm}'`);
    const store = openStore(options.priors);
    if (!isLoopbackHost(options.host)) {
      process.stderr.write(
        `warning: listening on ${options.host}, not loopback: anyone who can reach it can read your priors and runs and start LLM rounds with your key\n`,
      );
    }
    const queue = options.queue === undefined ? undefined : await connectQueue(options.queue);
    try {
      const server = await startViewerServer({
        host: options.host,
        port: options.port,
        priorsDir: store.root,
        runsDir: resolve(options.runs),
        // The same drawing as `armprior plot`; a run still without evaluation draws empty axes.
        curvesSvg: (runDirs) => curvesSvgForRuns(runDirs, { allowEmpty: true }),
        // The client is made per round, so a missing key is reported on the page, not at start.
        feedback: createFeedbackRunner({
          store,
          clientFor: (task) => chooseClient(options, store, task),
          episodes: options.episodes,
          robot: options.robot,
          maxAttempts: options.maxAttempts,
        }),
        ...(queue ? { queue: queueSource(queue.connection, redactUrl(queue.url), options.prefix) } : {}),
      });
      process.stdout.write(`armprior view: ${server.url}\n`);
      process.stderr.write('Ctrl-C to stop.\n');
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      process.stderr.write('armprior view: stopped\n');
    } finally {
      queue?.connection.disconnect();
    }
  });
}

/** How many of the queue's experiments the page lists (the newest). */
const QUEUED_EXPERIMENTS_SHOWN = 10;

/** The queue's experiments as the viewer's API gives them. */
function queueSource(connection: Redis, url: string, prefix: string): QueueSource {
  return {
    url,
    experiments: async () =>
      (await recentExperiments(connection, prefix, QUEUED_EXPERIMENTS_SHOWN)).map((status) => ({
        id: status.experimentId,
        state: status.state,
        summary: describeExperiment(status),
        runs: status.runs.map((run) => ({
          label: run.label,
          state: run.state,
          worker: run.worker,
          envSteps: run.envSteps,
          totalSteps: run.totalSteps,
          status: run.status,
          failedReason: run.failedReason,
          runName: basename(run.runDir),
        })),
      })),
  };
}
