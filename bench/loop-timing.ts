import type { JointCommand, Robot, RobotState } from '../src/bridge/robot.js';
import { runControlLoop } from '../src/control/control-loop.js';
import type { ControlStep, TimingSummary } from '../src/control/loop-contract.js';
import { RealtimeScheduler, spinMarginFor } from '../src/control/realtime-scheduler.js';

/** Results of `armprior bench loop`. */
export interface LoopTimingBenchResult {
  rateHz: number;
  durationSec: number;
  /** The scheduler's spin margin (ms): the last part of each wait spent spinning instead of sleeping. */
  spinMarginMs: number;
  /** Deadlines that came due: steps + overruns (+ abandoned steps, watchdog holds and link-down ticks, if any). */
  deadlines: number;
  steps: number;
  /** Achieved step rate (Hz); `rateHz` when nothing was skipped. */
  achievedRateHz: number;
  /** |fired − deadline| of each tick (ms). Goal: p99 ≤ 1 ms. */
  periodJitterMs: TimingSummary;
  actorLatencyMs: TimingSummary;
  /** Ticks skipped because a step was still running or their deadline had passed. */
  overruns: number;
  watchdogHolds: number;
  /** Process CPU time ÷ wall time over the run (%; 100 = one core busy), the price of spinning. */
  cpuPercent: number;
}

/** Options of {@link runLoopTimingBench}. */
export interface LoopTimingBenchOptions {
  rateHz?: number;
  durationSec?: number;
  spinMarginMs?: number;
  /** The robot to drive; default: a stand-in that always has a fresh state and sends nothing anywhere. */
  robot?: Robot;
  /** The step per tick; default: a trivial one that sends a zero command. */
  step?: ControlStep;
}

/**
 * The control loop's timing on the wall clock: `runControlLoop` on a {@link RealtimeScheduler} at
 * `rateHz` for `durationSec`, with a trivial step unless one is given, so the numbers are the
 * clock's and the scheduler's own (DESIGN.md, "Timing": a plain rxjs `interval(2)` had p99
 * 2.3 ms). `armprior bench loop` passes the simulated robot and a real actor instead.
 */
export async function runLoopTimingBench(
  options: LoopTimingBenchOptions = {},
): Promise<LoopTimingBenchResult> {
  const rateHz = options.rateHz ?? 500;
  const durationSec = options.durationSec ?? 10;
  const scheduler = new RealtimeScheduler({
    spinMarginMs: options.spinMarginMs ?? spinMarginFor(1000 / rateHz),
  });
  const robot = options.robot ?? standInRobot(() => scheduler.now());
  const step: ControlStep =
    options.step ??
    (() => {
      const t = scheduler.now();
      robot.act({ jointVelocities: new Float64Array(robot.spec.jointNames.length) });
      return { actorLatencyMs: scheduler.now() - t, interventions: [] };
    });
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const report = await runControlLoop({
    robot,
    scheduler,
    step,
    periodMs: 1000 / rateHz,
    maxStateAgeMs: 50,
    durationMs: durationSec * 1000,
  }).done;
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - wallBefore;
  if (report.fault) throw new Error(`loop bench ended on a fault: ${report.stopReason}`);
  return {
    rateHz,
    durationSec,
    spinMarginMs: scheduler.spinMarginMs,
    deadlines:
      report.steps + report.abandonedSteps + report.overruns + report.watchdogHolds + report.linkDownTicks,
    steps: report.steps,
    achievedRateHz: report.rateHz,
    periodJitterMs: report.periodJitterMs,
    actorLatencyMs: report.actorLatencyMs,
    overruns: report.overruns,
    watchdogHolds: report.watchdogHolds,
    cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
  };
}

/** A robot with nothing behind it: always connected, always a fresh state at rest. */
function standInRobot(nowMs: () => number): Robot {
  const joints = 7;
  const state = (): RobotState => ({
    stampMs: nowMs(),
    jointPositions: new Float64Array(joints),
    jointVelocities: new Float64Array(joints),
  });
  return {
    spec: {
      name: 'bench-stand-in',
      jointNames: Array.from({ length: joints }, (_, i) => `joint${i + 1}`),
      hasGripper: false,
    },
    connect: async () => {},
    observe: state,
    act: (command: JointCommand) => command,
    stop: async () => ({ kind: 'confirmed', detail: 'a stand-in robot has nothing to stop' }),
    close: async () => {},
    link: () => 'connected',
    onFault: () => {},
  };
}
