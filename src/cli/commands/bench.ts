import type { Command } from 'commander';
import { runLearnerBench } from '../../../bench/learner-bench.js';
import { runLoopBench } from '../../../bench/loop-bench.js';
import { runQueueBench } from '../../../bench/queue-bench.js';
import { runReplayBench } from '../../../bench/replay-bench.js';
import { runSandboxBench } from '../../../bench/sandbox-bench.js';
import { runSimBench } from '../../../bench/sim-bench.js';
import { queueUrl } from '../../queue/queue-connection.js';
import { integerOption } from '../options.js';

/** `armprior bench <what>`: benchmarks that print numbers. */
export function registerBenchCommand(program: Command): void {
  const bench = program.command('bench').description('run benchmarks and print their numbers');
  bench
    .command('sim')
    .description('physics rate, env overhead over the physics, and VecEnv scaling (2 workers vs 1)')
    .option('-t, --task <name>', 'task scene to measure', 'push')
    .option('--rounds <n>', 'interleaved measurement rounds (medians are reported)', integerOption(1, 100), 5)
    .option('--steps <n>', 'env steps per round', integerOption(10, 1_000_000), 1500)
    .option('--envs <n>', 'envs in the VecEnv measurement', integerOption(2, 64), 4)
    .option('--json', 'print JSON')
    .action(
      async (options: { task: string; rounds: number; steps: number; envs: number; json?: boolean }) => {
        const result = await runSimBench({
          task: options.task,
          rounds: options.rounds,
          stepsPerRound: options.steps,
          numEnvs: options.envs,
          onProgress: (message) => process.stderr.write(`bench sim: ${message}\n`),
        });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        const ok = (pass: boolean) => (pass ? 'meets goal' : 'BELOW GOAL');
        process.stdout.write(
          `bench sim · ${result.task} scene · medians of ${result.rounds} interleaved rounds\n` +
            `  raw mj_step (replay of the env's physics)  ${result.rawStepsPerSec.toFixed(0)} steps/s\n` +
            `  env, one instance                          ${result.envStepsPerSec.toFixed(0)} control steps/s (${result.substeps} physics steps each)\n` +
            `  env ÷ (raw ÷ substeps)                     ${result.envEfficiency.toFixed(3)}  (goal ≥ 0.85: ${ok(result.envEfficiency >= 0.85)})\n` +
            `  replay max |Δqpos|                         ${result.replayMaxAbsDiff.toExponential(1)}\n` +
            `  VecEnv ${result.vec.numEnvs} envs, 1 worker                    ${result.vec.oneWorkerStepsPerSec.toFixed(0)} env steps/s\n` +
            `  VecEnv ${result.vec.numEnvs} envs, 2 workers                   ${result.vec.twoWorkerStepsPerSec.toFixed(0)} env steps/s\n` +
            `  2 workers ÷ 1 worker                       ${result.vec.speedup.toFixed(2)}×  (goal ≥ 1.7: ${ok(result.vec.speedup >= 1.7)})\n` +
            `  through armprior env serve (Python's path) ${result.served.stepsPerSec.toFixed(0)} env steps/s: +${result.served.overheadUsPerStep.toFixed(0)} µs a step\n`,
        );
      },
    );

  bench
    .command('queue')
    .description(
      'what the job queue adds: per run (enqueue to start, last run to the table job), per collected episode, and the throughput of N workers against the same work done here',
    )
    .option(
      '--queue [url]',
      'the Redis to measure on (default: $ARMPRIOR_QUEUE_URL); the bench uses its own key prefix and removes it',
    )
    .option('--runs <n>', 'runs in the experiment', integerOption(1, 100), 4)
    .option(
      '--steps <n>',
      'env steps per run (Reach, TD3, 32 × 32 networks)',
      integerOption(300, 1_000_000),
      2000,
    )
    .option('--workers <n>', 'worker processes', integerOption(1, 64), 2)
    .option(
      '--episodes <n>',
      "episodes of Reach's bundled prior to record (0: no collection part)",
      integerOption(0, 100_000),
      400,
    )
    .option('--chunk <n>', 'episodes per job of the collection', integerOption(1, 100_000), 25)
    .option('--json', 'print JSON')
    .action(
      async (options: {
        queue?: string | true;
        runs: number;
        steps: number;
        workers: number;
        episodes: number;
        chunk: number;
        json?: boolean;
      }) => {
        const r = await runQueueBench({
          url: queueUrl(options.queue === true ? undefined : options.queue),
          runs: options.runs,
          steps: options.steps,
          workers: options.workers,
          episodes: options.episodes,
          chunk: options.chunk,
          onProgress: (message) => process.stderr.write(`bench queue: ${message}\n`),
        });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `bench queue · ${r.runs} runs of ${r.steps} steps (Reach, TD3, 32 × 32)\n` +
            `  enqueue → a worker starts the run      ${r.enqueueToStartMs.toFixed(0)} ms (median over the runs an idle worker took)\n` +
            `  last run ends → the table job starts   ${r.lastRunToExperimentMs.toFixed(0)} ms\n` +
            `  one after the other, here             ${r.localSec.toFixed(1)} s\n` +
            `  ${String(r.workers).padEnd(2)} workers through the queue          ${r.queuedSec.toFixed(1)} s\n` +
            `  throughput ratio                      ${r.speedup.toFixed(2)}× (a run keeps about 1.5 cores busy: its env threads and the learner)\n`,
        );
        const c = r.collection;
        if (!c) return;
        process.stdout.write(
          `bench queue · ${c.episodes} episodes of Reach's bundled prior, recorded, in chunks of ${c.chunk}\n` +
            `  here, one after the other            ${c.localSec.toFixed(1)} s\n` +
            `  1  worker through the queue           ${c.soloSec.toFixed(1)} s\n` +
            `  queue's cost per episode              ${c.overheadPerEpisodeMs.toFixed(1)} ms (1 worker's time less the local time, per episode)\n` +
            `  ${String(r.workers).padEnd(2)} workers through the queue          ${c.queuedSec.toFixed(1)} s\n` +
            `  throughput ratio                      ${c.speedup.toFixed(2)}× (an episode keeps a worker and its prior's sandbox busy)\n`,
        );
      },
    );

  bench
    .command('sandbox')
    .description('prior controller sandbox: overhead per act() call, and the time to evaluate 20 episodes')
    .option('-t, --task <name>', 'task whose bundled prior is measured', 'push')
    .option('--json', 'print JSON')
    .action(async (options: { task: string; json?: boolean }) => {
      const r = await runSandboxBench({ task: options.task });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const us = (p: { median: number; p99: number }) =>
        `median ${p.median.toFixed(1)} µs, p99 ${p.p99.toFixed(1)} µs`;
      process.stdout.write(
        `bench sandbox · ${r.task}\n` +
          `  act() overhead (constant controller)  ${us(r.overheadMicros)}  (limit median ≤ 50 µs, goal ≤ 20 µs: ${r.overheadMicros.median <= 20 ? 'meets goal' : r.overheadMicros.median <= 50 ? 'within limit' : 'ABOVE LIMIT'})\n` +
          `  act() of the bundled prior            ${us(r.bundledPriorMicros)}\n` +
          `  starting a sandbox with the prior     ${r.loadMillis.toFixed(1)} ms\n` +
          `  evaluating it on 20 episodes          ${r.evaluate20EpisodesSec.toFixed(2)} s (env and sandbox creation included; limit ≤ 1.5 s: ${r.evaluate20EpisodesSec <= 1.5 ? 'within limit' : 'ABOVE LIMIT'})\n`,
      );
    });

  bench
    .command('replays')
    .description('what recording an episode replay (poses every step, one JSON file) adds to an episode')
    .option('-t, --task <name>', 'task', 'push')
    .option('--json', 'print JSON')
    .action(async (options: { task: string; json?: boolean }) => {
      const r = await runReplayBench({ task: options.task });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `bench replays · ${r.task} · ${r.episodeSteps}-step episodes, zero controller, medians\n` +
          `  episode                 ${r.plainEpisodeMs.toFixed(2)} ms\n` +
          `  episode with a replay   ${r.recordedEpisodeMs.toFixed(2)} ms\n` +
          `  recording               ${r.recordingCostMs.toFixed(2)} ms per episode, ${(r.replayBytes / 1024).toFixed(1)} KiB per file\n`,
      );
    });

  bench
    .command('learner')
    .description(
      "TD3 and SAC updates per second through the onnxruntime training graphs (2 × 256 MLPs, batch 256; rlingua's TD3 at 3 × 256, with and without LayerNorm critics)",
    )
    .option('--updates <n>', 'updates per measurement', integerOption(10, 100_000), 200)
    .option('--json', 'print JSON')
    .action(async (options: { updates: number; json?: boolean }) => {
      const r = await runLearnerBench({ updates: options.updates });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `bench learner · TD3 and SAC, ${r.hidden.join('×')} MLPs, batch ${r.batchSize}, ${r.inputSize} inputs, ${r.actionSize} actions\n` +
          `  full TD3 updates (actor every ${r.policyDelay})  ${r.td3UpdatesPerSec.toFixed(1)}/s  (goal ≥ 100/s: ${r.td3UpdatesPerSec >= 100 ? 'meets goal' : 'BELOW GOAL'})\n` +
          `  full SAC updates (one call, auto α)  ${r.sacUpdatesPerSec.toFixed(1)}/s\n` +
          `  rlingua's TD3 (the preset: 3×256, LayerNorm critics, imitation, Q-filter)  ${r.rlinguaTd3UpdatesPerSec.toFixed(1)}/s\n` +
          `  the same without LayerNorm  ${r.rlinguaTd3PlainCriticsUpdatesPerSec.toFixed(1)}/s\n`,
      );
    });

  bench
    .command('loop')
    .description(
      'control loop: ONNX actor latency, the loop on the simulated arm at 500 Hz (jitter, overruns), the rosbridge round trip',
    )
    .option('--rate <hz>', 'loop rate on the simulated arm', integerOption(1, 2000), 500)
    .option('--seconds <s>', 'how long the loop runs', integerOption(1, 3600), 60)
    .option('--json', 'print JSON')
    .action(async (options: { rate: number; seconds: number; json?: boolean }) => {
      const r = await runLoopBench({
        rateHz: options.rate,
        durationSec: options.seconds,
        onProgress: (message) => process.stderr.write(`bench loop: ${message}\n`),
      });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const ms = (t: { p50: number; p99: number; max: number }) =>
        `p50 ${t.p50.toFixed(3)} ms, p99 ${t.p99.toFixed(3)} ms, max ${t.max.toFixed(3)} ms`;
      const goal = (pass: boolean) => (pass ? 'meets goal' : 'BELOW GOAL');
      const loop = r.simLoop;
      process.stdout.write(
        `bench loop\n` +
          `  ONNX actor (2×256 MLP, batch 1)       ${ms(r.onnxActorLatencyMs)}  (goal p50 ≤ 0.050 ms: ${goal(r.onnxActorLatencyMs.p50 <= 0.05)})\n` +
          `  clock alone, ${r.clockOnly.rateHz} Hz × ${r.clockOnly.durationSec} s      jitter ${ms(r.clockOnly.periodJitterMs)}, ${r.clockOnly.overruns} overruns, CPU ${r.clockOnly.cpuPercent.toFixed(0)}%\n` +
          `  sim robot loop, ${loop.rateHz} Hz × ${loop.durationSec} s   ${loop.steps} steps (${loop.achievedRateHz.toFixed(1)} Hz), ${loop.overruns} overruns, ${loop.watchdogHolds} watchdog holds, CPU ${loop.cpuPercent.toFixed(0)}%\n` +
          `    period jitter                       ${ms(loop.periodJitterMs)}  (goal p99 ≤ 1 ms: ${goal(loop.periodJitterMs.p99 <= 1)})\n` +
          `    actor latency in the loop           ${ms(loop.actorLatencyMs)}\n` +
          `  rosbridge command → state round trip  ${ms(r.rosRoundTripMs)}  (loopback, real roslib client)\n`,
      );
    });
}
