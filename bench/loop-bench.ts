import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TimingSummary } from '../src/control/loop-contract.js';
import { runSession } from '../src/control/run-session.js';
import { PriorStore } from '../src/controllers/store.js';
import { measureActorLatency, writeUntrainedPolicy } from './actor-latency.js';
import { type LoopTimingBenchResult, runLoopTimingBench } from './loop-timing.js';
import { measureRosRoundTrip } from './ros-round-trip.js';

/** Results of `armprior bench loop`. */
export interface LoopBenchResult {
  /** One ONNX policy call (2 × 256 MLP, batch 1) as the loop makes it. Goal: p50 ≤ 0.05 ms. */
  onnxActorLatencyMs: TimingSummary;
  /** The clock and scheduler alone (a stand-in robot, a trivial step): the floor under the loop's jitter. */
  clockOnly: LoopTimingBenchResult;
  /** `armprior run --robot sim` with that policy, at `rateHz` for `durationSec`. Goal: jitter p99 ≤ 1 ms. */
  simLoop: Omit<LoopTimingBenchResult, 'spinMarginMs' | 'deadlines'>;
  /** A command sent through RosRobot until the state showing it came back, via the rosbridge test server on loopback. */
  rosRoundTripMs: TimingSummary;
}

/**
 * The numbers of issue #5: ONNX actor latency, the whole control loop on the simulated robot
 * (physics in real time, observation, policy, IK, safety filter) at 500 Hz, and the
 * command-to-state round trip through rosbridge (the real roslib client and a rosbridge v2
 * server on 127.0.0.1).
 */
export async function runLoopBench(
  options: { rateHz?: number; durationSec?: number; onProgress?: (message: string) => void } = {},
): Promise<LoopBenchResult> {
  const rateHz = options.rateHz ?? 500;
  const durationSec = options.durationSec ?? 60;
  const say = options.onProgress ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'armprior-bench-loop-'));
  try {
    say('ONNX actor latency (5,000 calls)…');
    const onnxActorLatencyMs = await measureActorLatency(dir, 5000);
    const clockSec = Math.min(10, durationSec);
    say(`the clock alone at ${rateHz} Hz for ${clockSec} s…`);
    const clockOnly = await runLoopTimingBench({ rateHz, durationSec: clockSec });
    say(`the loop on the simulated arm at ${rateHz} Hz for ${durationSec} s…`);
    const policy = writeUntrainedPolicy(dir, 'push', 0);
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    const run = await runSession({
      robot: 'sim',
      actor: policy,
      rateHz,
      durationSec,
      seed: 0,
      priors: new PriorStore(join(dir, 'priors')),
    });
    const cpu = process.cpuUsage(cpuBefore);
    const wallMs = performance.now() - wallBefore;
    const r = run.report;
    say('rosbridge round trip (1,000 commands)…');
    const rosRoundTripMs = await measureRosRoundTrip(1000);
    return {
      onnxActorLatencyMs,
      clockOnly,
      simLoop: {
        rateHz,
        durationSec,
        steps: r.steps,
        achievedRateHz: r.rateHz,
        periodJitterMs: r.periodJitterMs,
        actorLatencyMs: r.actorLatencyMs,
        overruns: r.overruns,
        watchdogHolds: r.watchdogHolds,
        cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      },
      rosRoundTripMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
