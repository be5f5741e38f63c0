import { ignoreElements, map, type Observable, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { RobotState, StopOutcome } from '../bridge/robot.js';
import { ControlLoopError, type ControlLoopHandle, runControlLoop, SafeStopError } from './control-loop.js';
import type { ControlLoopOptions, ControlStep, LoopStats, StepOutcome, Tick } from './loop-contract.js';
import { CONFIRMED, FakeRobot, LateScheduler, quietOutcome, restState } from './test-helpers.js';

type Options = Omit<ControlLoopOptions, 'scheduler' | 'robot' | 'step'> & {
  /** The step under test, given the virtual scheduler; default: a quiet outcome at once. */
  readonly step?: (ts: TestScheduler) => ControlStep;
};

interface VirtualRun {
  readonly handle: ControlLoopHandle;
  readonly robot: FakeRobot;
  readonly ts: TestScheduler;
  /** Ticks the step was called with, and the virtual time of each call. */
  readonly stepCalls: { tick: Tick; atMs: number; state: RobotState }[];
  readonly liveStats: LoopStats[];
}

/** A command the test step sends, told apart from the watchdog's zero hold. */
const ones = new Float64Array([1, 1, 1]);

/**
 * Runs the loop in virtual time: `configure` sets the fake robot up (it may read `ts.now()`, and
 * reach the handle once the loop runs);
 * the default robot reports a fresh state on every tick, and the default step sends `ones`.
 * Returns once virtual time has run out (the loop has ended); `handle.done` may still be settling.
 */
function runVirtual(
  options: Options,
  configure: (
    robot: FakeRobot,
    ts: TestScheduler,
    handle: () => ControlLoopHandle,
  ) => Partial<ControlLoopOptions> | undefined = () => undefined,
): VirtualRun {
  const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const robot = new FakeRobot();
  robot.state = () => restState(ts.now());
  const stepCalls: VirtualRun['stepCalls'] = [];
  const liveStats: LoopStats[] = [];
  let handle: ControlLoopHandle | undefined;
  ts.run(() => {
    const overrides = configure(robot, ts, () => handle!) ?? {};
    const step: ControlStep = options.step?.(ts) ?? (() => quietOutcome);
    handle = runControlLoop({
      ...options,
      robot,
      scheduler: ts,
      ...overrides,
      step: (state, tick, signal) => {
        stepCalls.push({ tick, atMs: ts.now(), state });
        const outcome = step(state, tick, signal);
        if (!signal.aborted) robot.act({ jointVelocities: ones });
        return outcome;
      },
    });
    handle.stats$.subscribe((s) => liveStats.push(s));
  });
  return { handle: handle!, robot, ts, stepCalls, liveStats };
}

const isHold = (c: { jointVelocities: Float64Array }) => c.jointVelocities.every((v) => v === 0);

describe('runControlLoop (virtual time)', () => {
  it('steps once per tick at the deadlines, then ends on the duration with a safe stop', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 5, durationMs: 20 });
    expect(run.stepCalls.map((c) => c.atMs)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(run.stepCalls.map((c) => c.tick.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const report = await run.handle.done;
    expect(report).toMatchObject({
      stopReason: 'duration reached',
      fault: false,
      elapsedMs: 20,
      steps: 10,
      rateHz: 500,
      overruns: 0,
      watchdogHolds: 0,
      linkDownTicks: 0,
      periodJitterMs: { count: 10, p50: 0, p99: 0, max: 0 },
      actorLatencyMs: { count: 10, p50: 0.1, p99: 0.1, max: 0.1 },
    });
    expect(run.robot.stopCalls).toBe(1);
  });

  it('drops the ticks that arrive while a slow step runs, counting them as overruns', async () => {
    // Each step takes 3 ms of virtual time with a 2 ms period: every other tick finds it busy.
    const run = runVirtual({
      periodMs: 2,
      maxStateAgeMs: 5,
      durationMs: 20,
      step: (ts) => (): Observable<StepOutcome> => timer(3, ts).pipe(map(() => quietOutcome)),
    });
    // Never queued: each step starts on its own tick's deadline, not when the previous one ends.
    expect(run.stepCalls.map((c) => [c.tick.index, c.atMs])).toEqual([
      [0, 0],
      [2, 4],
      [4, 8],
      [6, 12],
      [8, 16],
    ]);
    const report = await run.handle.done;
    expect(report.steps).toBe(5);
    expect(report.overruns).toBe(5);
    expect(report.periodJitterMs.count).toBe(5);
  });

  it('counts the deadlines the clock skipped after a late wake-up as overruns', async () => {
    // The wake-up due at 6 comes at 11: deadlines 6 and 8 are gone, 10 runs 1 ms late.
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 5, durationMs: 20 }, (_robot, ts) => ({
      scheduler: new LateScheduler(ts, (due) => (due === 6 ? 5 : 0)),
    }));
    expect(run.stepCalls.map((c) => c.tick.index)).toEqual([0, 1, 2, 5, 6, 7, 8, 9]);
    const report = await run.handle.done;
    expect(report.overruns).toBe(2);
    expect(report.periodJitterMs.max).toBe(1);
  });

  it('holds with a zero command and skips the step while the state is stale, and resumes', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 20 }, (robot, ts) => {
      // The state stops updating at 4 and comes back at 16.
      robot.state = () => restState(ts.now() >= 4 && ts.now() < 16 ? 4 : ts.now());
      return undefined;
    });
    // At 6 the state is 2 ms old (fine); at 8…14 it is older than 3 ms.
    expect(run.stepCalls.map((c) => c.atMs)).toEqual([0, 2, 4, 6, 16, 18]);
    const holds = run.robot.sent.filter(isHold);
    expect(holds).toHaveLength(4);
    expect(holds.every((c) => c.jointVelocities.length === 3 && c.gripper === undefined)).toBe(true);
    const report = await run.handle.done;
    expect(report.watchdogHolds).toBe(4);
    expect(report.steps).toBe(6);
  });

  it('holds while no state has arrived yet', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 10 }, (robot, ts) => {
      robot.state = () => (ts.now() < 4 ? undefined : restState(ts.now()));
      return undefined;
    });
    expect(run.stepCalls.map((c) => c.atMs)).toEqual([4, 6, 8]);
    expect((await run.handle.done).watchdogHolds).toBe(2);
  });

  it('sends nothing while the link is down, and resumes when it is back', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 20 }, (robot, ts) => {
      robot.linkState = () => (ts.now() >= 4 && ts.now() < 10 ? 'reconnecting' : 'connected');
      return undefined;
    });
    expect(run.stepCalls.map((c) => c.atMs)).toEqual([0, 2, 10, 12, 14, 16, 18]);
    // Neither the step nor the watchdog tried to send during the outage.
    expect(run.robot.actCalls).toBe(7);
    const report = await run.handle.done;
    expect(report.linkDownTicks).toBe(3);
    expect(report.watchdogHolds).toBe(0);
  });

  it('ends on a fault when the step throws, stopping the robot once', async () => {
    const run = runVirtual({
      periodMs: 2,
      maxStateAgeMs: 3,
      durationMs: 20,
      step: () => (_state, tick) => {
        if (tick.index === 3) throw new Error('actor produced NaN');
        return quietOutcome;
      },
    });
    expect(run.stepCalls.map((c) => c.tick.index)).toEqual([0, 1, 2, 3]);
    const report = await run.handle.done;
    expect(report).toMatchObject({ fault: true, stopReason: 'actor produced NaN', steps: 3, elapsedMs: 6 });
    expect(run.robot.stopCalls).toBe(1);
  });

  it('ends on a fault when an Observable step errors', async () => {
    const run = runVirtual({
      periodMs: 2,
      maxStateAgeMs: 3,
      durationMs: 20,
      step: (ts) => (): Observable<StepOutcome> =>
        timer(1, ts).pipe(
          map(() => {
            throw new Error('policy session failed');
          }),
        ),
    });
    const report = await run.handle.done;
    expect(report).toMatchObject({ fault: true, stopReason: 'policy session failed', elapsedMs: 1 });
    expect(run.robot.stopCalls).toBe(1);
  });

  it('treats a step Observable that completes without an outcome as a fault', async () => {
    const run = runVirtual({
      periodMs: 2,
      maxStateAgeMs: 3,
      durationMs: 20,
      step: (ts) => (): Observable<StepOutcome> => timer(1, ts).pipe(ignoreElements()),
    });
    const report = await run.handle.done;
    expect(report.fault).toBe(true);
    expect(report.stopReason).toMatch(/without an outcome/);
  });

  it('abandons a step still running after maxStateAgeMs, holds the arm and keeps its rate (issue #17)', async () => {
    const signals: AbortSignal[] = [];
    const holds: [number, string][] = [];
    const run = runVirtual(
      {
        periodMs: 2,
        maxStateAgeMs: 5,
        durationMs: 20,
        step:
          (ts) =>
          (_state, _tick, signal): Observable<StepOutcome> => {
            signals.push(signal);
            return timer(50, ts).pipe(map(() => quietOutcome)); // an actor that hangs
          },
      },
      (_robot, ts) => ({ onHold: (kind) => holds.push([ts.now(), kind]) }),
    );
    expect(holds).toEqual([
      [6, 'abandoned_step'],
      [14, 'abandoned_step'],
    ]);
    // Ticks at 2 and 4 find the step running (overruns); at 6 it has run 6 ms > 5 ms: abandoned,
    // the arm held. The tick at 8 starts a new step from fresh state; the same again at 14 and 16.
    expect(run.stepCalls.map((c) => c.atMs)).toEqual([0, 8, 16]);
    const report = await run.handle.done;
    expect(report).toMatchObject({
      fault: false,
      stopReason: 'duration reached',
      elapsedMs: 20,
      steps: 0,
      abandonedSteps: 2,
      overruns: 7, // 2, 4, 6, 10, 12, 14, 18
    });
    expect(signals.map((s) => s.aborted)).toEqual([true, true, true]);
    expect(signals[0]!.reason).toBe('the control step ran past maxStateAgeMs, 5 ms');
    expect(signals[2]!.reason).toBe('duration reached');
    // Each step sent once at its start (the test step); each abandonment held the arm.
    expect(run.robot.sent.map((c) => (isHold(c) ? 'hold' : 'move'))).toEqual([
      'move',
      'hold',
      'move',
      'hold',
      'move',
    ]);
    expect(run.robot.stopCalls).toBe(1);
  });

  it('lets an abandoned step that answers late send nothing and count nothing', async () => {
    const run = runVirtual({
      periodMs: 2,
      maxStateAgeMs: 3,
      durationMs: 12,
      step:
        (ts) =>
        (_state, tick): Observable<StepOutcome> =>
          timer(tick.index === 0 ? 7 : 1, ts).pipe(map(() => quietOutcome)),
    });
    // Step 0 runs 0–7 ms: abandoned at 4 (ran 4 > 3 ms); the tick at 6 starts the next one.
    expect(run.stepCalls.map((c) => c.atMs)).toEqual([0, 6, 8, 10]);
    const report = await run.handle.done;
    expect(report).toMatchObject({ abandonedSteps: 1, steps: 3, overruns: 2, fault: false });
  });

  it('ends on a fault when the robot itself throws inside the loop', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 20 }, (robot, ts) => {
      robot.state = () => {
        if (ts.now() >= 4) throw new Error('state message failed its guard');
        return restState(ts.now());
      };
      return undefined;
    });
    const report = await run.handle.done;
    expect(report).toMatchObject({ fault: true, stopReason: 'state message failed its guard', elapsedMs: 4 });
    expect(run.robot.stopCalls).toBe(1);
  });

  it('ends on a fault when stop$ errors', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 20 }, (_robot, ts) => ({
      stop$: timer(3, ts).pipe(
        map((): string => {
          throw new Error('signal handler failed');
        }),
      ),
    }));
    expect(await run.handle.done).toMatchObject({ fault: true, stopReason: 'signal handler failed' });
    expect(run.robot.stopCalls).toBe(1);
  });

  it('stops at once, without stepping, when the robot reports a fault while the loop registers', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 20 }, (robot) => {
      const register = robot.onFault.bind(robot);
      robot.onFault = (listener) => {
        register(listener);
        listener('e-stop already pressed');
      };
      return undefined;
    });
    expect(run.stepCalls).toHaveLength(0);
    expect(await run.handle.done).toMatchObject({
      fault: true,
      stopReason: 'e-stop already pressed',
      steps: 0,
    });
    expect(run.robot.stopCalls).toBe(1);
  });

  it('stops cleanly with the reason stop$ gives', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3 }, (_robot, ts) => ({
      stop$: timer(7, ts).pipe(map(() => 'SIGINT')),
    }));
    const report = await run.handle.done;
    expect(report).toMatchObject({ fault: false, stopReason: 'SIGINT', elapsedMs: 7, steps: 4 });
    expect(run.robot.stopCalls).toBe(1);
  });

  it('stops cleanly through the handle', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3 }, (_robot, ts, handle) => {
      ts.schedule(() => handle().stop('operator pressed q'), 5);
      return undefined;
    });
    const report = await run.handle.done;
    expect(report).toMatchObject({ fault: false, stopReason: 'operator pressed q', elapsedMs: 5 });
    expect(run.robot.stopCalls).toBe(1);
  });

  it('ends on a fault the robot reports', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 100 }, (robot, ts) => {
      ts.schedule(() => robot.fault('e-stop pressed'), 9);
      return undefined;
    });
    const report = await run.handle.done;
    expect(report).toMatchObject({ fault: true, stopReason: 'e-stop pressed', elapsedMs: 9, steps: 5 });
    expect(run.robot.stopCalls).toBe(1);
  });

  it('keeps the first ending when several come at once', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 10 }, (robot, ts, handle) => {
      ts.schedule(() => {
        robot.fault('link lost');
        handle().stop('SIGTERM');
      }, 5);
      return undefined;
    });
    expect(await run.handle.done).toMatchObject({ fault: true, stopReason: 'link lost' });
    expect(run.robot.stopCalls).toBe(1);
  });

  it('aborts the step in flight at the end, so it sends nothing after the stop', async () => {
    let signalSeen: AbortSignal | undefined;
    const run = runVirtual({
      periodMs: 2,
      maxStateAgeMs: 3,
      durationMs: 3,
      step:
        (ts) =>
        (_state, _tick, signal): Observable<StepOutcome> => {
          signalSeen = signal;
          return timer(5, ts).pipe(map(() => quietOutcome));
        },
    });
    const report = await run.handle.done;
    expect(signalSeen?.aborted).toBe(true);
    expect(signalSeen?.reason).toBe('duration reached');
    expect(report.steps).toBe(0);
    expect(report.overruns).toBe(1);
  });

  it('settles done only after robot.stop() has', async () => {
    let release!: () => void;
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 4 }, (robot) => {
      robot.stopImpl = () => new Promise<StopOutcome>((resolve) => (release = () => resolve(CONFIRMED)));
      return undefined;
    });
    let settled = false;
    void run.handle.done.then(() => (settled = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(run.robot.stopCalls).toBe(1);
    expect(settled).toBe(false);
    release();
    await run.handle.done;
    expect(settled).toBe(true);
  });

  it('reports what the stop achieved, confirmed for a clean ending', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 4 });
    expect(await run.handle.done).toMatchObject({
      stopReason: 'duration reached',
      fault: false,
      endedOnFault: false,
      stop: CONFIRMED,
    });
  });

  it('makes a clean ending whose stop is unconfirmed or impossible a fault, keeping the reason', async () => {
    const unconfirmed: StopOutcome = {
      kind: 'unconfirmed',
      detail: 'zero joint velocity sent, but no joint state arrived',
      operatorAction: 'check the arm',
    };
    const impossible: StopOutcome = {
      kind: 'impossible',
      detail: 'the link is down: no stop command could be sent',
      operatorAction: 'stop the arm at the robot',
    };
    for (const outcome of [unconfirmed, impossible]) {
      const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 4 }, (robot) => {
        robot.stopImpl = () => Promise.resolve(outcome);
        return undefined;
      });
      expect(await run.handle.done).toMatchObject({
        stopReason: 'duration reached',
        fault: true,
        endedOnFault: false,
        stop: outcome,
      });
    }
  });

  it('tells onHold of every tick it holds, by kind, and not of the ticks it steps', async () => {
    const holds: [number, string][] = [];
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 20 }, (robot, ts) => {
      robot.linkState = () => (ts.now() >= 4 && ts.now() < 8 ? 'reconnecting' : 'connected');
      robot.state = () => restState(ts.now() >= 8 && ts.now() < 14 ? 0 : ts.now());
      return { onHold: (kind) => holds.push([ts.now(), kind]) };
    });
    expect(holds).toEqual([
      [4, 'link_down'],
      [6, 'link_down'],
      [8, 'stale_state'],
      [10, 'stale_state'],
      [12, 'stale_state'],
    ]);
    expect(run.stepCalls.map((c) => c.atMs)).toEqual([0, 2, 14, 16, 18]);
    await run.handle.done;
  });

  it('rejects done with a SafeStopError carrying the report when robot.stop() fails', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 4 }, (robot) => {
      robot.stopImpl = () => Promise.reject(new Error('controller not answering'));
      return undefined;
    });
    const error = await run.handle.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SafeStopError);
    const report = (error as SafeStopError).report;
    expect(report.fault).toBe(true);
    expect(report.stopReason).toBe('duration reached; safe stop failed: controller not answering');
    expect(report.stop.kind).toBe('unconfirmed');
    expect(report.steps).toBe(2);
    expect(run.robot.stopCalls).toBe(1);
  });

  it('rejects done the same way when robot.stop() throws synchronously', async () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 4 }, (robot) => {
      robot.stopImpl = () => {
        throw new Error('socket closed');
      };
      return undefined;
    });
    await expect(run.handle.done).rejects.toThrow(/safe stop failed: socket closed/);
  });

  it('counts interventions and emits live statistics every reportEveryMs', async () => {
    const run = runVirtual({
      periodMs: 2,
      maxStateAgeMs: 3,
      durationMs: 20,
      // Off the tick grid, so that no snapshot is due at the same virtual time as a tick.
      reportEveryMs: 5.5,
      step: () => (_state, tick) => ({
        actorLatencyMs: tick.index,
        interventions: tick.index % 2 === 0 ? ['joint_velocity'] : ['workspace', 'joint_velocity'],
      }),
    });
    expect(run.liveStats.map((s) => [s.elapsedMs, s.steps])).toEqual([
      [5.5, 3],
      [11, 6],
      [16.5, 9],
    ]);
    const report = await run.handle.done;
    expect(report.interventions).toEqual({
      non_finite: 0,
      joint_velocity: 10,
      joint_acceleration: 0,
      joint_position: 0,
      workspace: 5,
    });
    expect(report.actorLatencyMs).toEqual({ count: 10, p50: 4, p99: 9, max: 9 });
  });

  it('completes stats$ when the loop ends', () => {
    const run = runVirtual({ periodMs: 2, maxStateAgeMs: 3, durationMs: 4 });
    let completed = false;
    run.handle.stats$.subscribe({ complete: () => (completed = true) });
    expect(completed).toBe(true);
  });

  it('rejects options out of range before touching the robot', () => {
    const ts = new TestScheduler(() => {});
    const robot = new FakeRobot();
    const base = { robot, scheduler: ts, step: () => quietOutcome, periodMs: 2, maxStateAgeMs: 3 };
    expect(() => runControlLoop({ ...base, periodMs: 0 })).toThrow(ControlLoopError);
    expect(() => runControlLoop({ ...base, maxStateAgeMs: -1 })).toThrow(/maxStateAgeMs/);
    expect(() => runControlLoop({ ...base, reportEveryMs: Number.NaN })).toThrow(/reportEveryMs/);
    expect(robot.stopCalls).toBe(0);
  });
});
