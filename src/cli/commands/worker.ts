import { resolve } from 'node:path';
import type { Command } from 'commander';
import { checkOutputDir } from '../../core/output-path.js';
import { startQueueWorker } from '../../queue/queue-worker.js';
import { integerOption } from '../options.js';
import { listenForStop } from '../stop-request.js';
import { trainStatus } from '../train-status.js';
import { addQueueOptions, connectQueue, type QueueOptions } from './experiment-queue.js';

interface WorkerOptions extends QueueOptions {
  runs: string;
  concurrency: number;
  lockTimeout: number;
  name?: string;
}

/** `armprior worker`: trains the runs of queued experiments until stopped (issue #20). */
export function registerWorkerCommand(program: Command): void {
  addQueueOptions(
    program
      .command('worker')
      .description(
        'take runs of queued experiments (armprior experiment --queue) and train them, and chunks of queued episodes (armprior sim --queue), until Ctrl-C (which checkpoints the runs in training and gives them back)',
      )
      .option(
        '--runs <dir>',
        "the experiments' run folders: the same path on every worker (a shared filesystem)",
        'runs',
      )
      .option(
        '--concurrency <n>',
        'runs trained at once (each uses about one core), and chunks of episodes run at once',
        integerOption(1, 64),
        1,
      )
      .option(
        '--lock-timeout <sec>',
        'a worker silent this long (killed, machine lost) loses its runs to another worker, which continues them from their checkpoints',
        integerOption(1, 3600),
        30,
      )
      .option('--name <name>', 'shown by `experiment status` as who trains a run (default: host:pid)'),
    'the queue to take runs from',
  ).action(async (options: WorkerOptions) => {
    const runsRoot = resolve(options.runs);
    checkOutputDir(runsRoot);
    const { connection } = await connectQueue(options.queue ?? true);
    const log = (line: string) => process.stderr.write(`armprior worker: ${line}\n`);
    try {
      const worker = await startQueueWorker({
        connection,
        prefix: options.prefix,
        runsRoot,
        concurrency: options.concurrency,
        lockSec: options.lockTimeout,
        ...(options.name ? { name: options.name } : {}),
        log,
        statusOf: trainStatus,
      });
      log(
        `${worker.name} takes runs for ${runsRoot} and chunks of episodes (${options.concurrency} of each at once); Ctrl-C stops it`,
      );
      const clean = await new Promise<boolean>((done) => {
        const stop = listenForStop(
          'stopping: the runs in training checkpoint after their round and go back to the queue',
        );
        const poll = setInterval(() => {
          if (!stop.requested()) return;
          clearInterval(poll);
          worker
            .stop()
            .then((clean) => {
              log('stopped');
              done(clean);
            })
            .finally(() => stop.dispose());
        }, 200);
      });
      // Stopped with Redis away: BullMQ's connections would go on reconnecting for ever, and
      // nothing is left to do (no job in hand).
      if (!clean) process.exit(0);
    } finally {
      connection.disconnect();
    }
  });
}
