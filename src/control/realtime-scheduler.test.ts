import { interval, lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { controlClock$ } from './control-clock.js';
import { runControlLoop } from './control-loop.js';
import { RealtimeScheduler } from './realtime-scheduler.js';
import { FakeRobot, quietOutcome, restState } from './test-helpers.js';

// Real time: these tests check order and completion, never how long anything took.

/** Blocks the event loop, as GC or a loaded machine does, so that scheduled work is overdue. */
function stallEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy on purpose.
  }
}
describe('RealtimeScheduler', () => {
  it('runs scheduled work once, with its state, and never synchronously', async () => {
    const scheduler = new RealtimeScheduler();
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      const action = scheduler.schedule(
        (state) => {
          seen.push(state ?? 'none');
          resolve();
        },
        0,
        'hello',
      );
      seen.push('after schedule');
      expect(action.closed).toBe(false);
    });
    expect(seen).toEqual(['after schedule', 'hello']);
  });

  it('runs work in the order of the due times, sleeping and spinning', async () => {
    const scheduler = new RealtimeScheduler({ spinMarginMs: 0.5 });
    const seen: number[] = [];
    await new Promise<void>((resolve) => {
      // Sleeps of 5.5 and 2.5 ms then spins, and a spin only: the order holds even on a stalled loop.
      for (const delay of [6, 3, 0]) {
        scheduler.schedule(() => {
          seen.push(delay);
          if (seen.length === 3) resolve();
        }, delay);
      }
    });
    expect(seen).toEqual([0, 3, 6]);
  });

  it('keeps the order of the due times when the loop stalls past all of them', async () => {
    const scheduler = new RealtimeScheduler({ spinMarginMs: 0.5 });
    const seen: number[] = [];
    await new Promise<void>((resolve) => {
      // Two timers and a spin, all overdue by the time the event loop turns. Scheduled from an
      // immediate, the next turn starts with timers, which Node runs before immediates: each
      // action running its own work would give 3, 3, 6, 0.
      setImmediate(() => {
        for (const delay of [6, 3, 0, 3]) {
          scheduler.schedule(() => {
            seen.push(delay);
            if (seen.length === 4) resolve();
          }, delay);
        }
        stallEventLoop(12);
      });
    });
    expect(seen).toEqual([0, 3, 3, 6]);
  });

  it('lets work that throws end its own action only; the other due work still runs', async () => {
    const scheduler = new RealtimeScheduler({ spinMarginMs: 0.5 });
    const seen: string[] = [];
    const errors: unknown[] = [];
    const onError = (error: unknown) => errors.push(error);
    process.on('uncaughtException', onError);
    try {
      await new Promise<void>((resolve) => {
        // As above: the second action's timer wakes first and runs the earlier-due failing work.
        setImmediate(() => {
          const failing = scheduler.schedule(() => {
            throw new Error('work failed');
          }, 0);
          scheduler.schedule(() => {
            seen.push('second');
            expect(failing.closed).toBe(true);
            resolve();
          }, 2);
          stallEventLoop(12);
        });
      });
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(seen).toEqual(['second']);
    expect(errors).toEqual([new Error('work failed')]);
  });

  it('lets work reschedule itself through `this.schedule`, as rxjs actions do', async () => {
    const scheduler = new RealtimeScheduler();
    const seen: number[] = [];
    await new Promise<void>((resolve) => {
      scheduler.schedule(
        function (n = 0) {
          seen.push(n);
          if (n < 4) this.schedule(n + 1, 1);
          else resolve();
        },
        1,
        0,
      );
    });
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('does not run work that was cancelled', async () => {
    const scheduler = new RealtimeScheduler();
    let ran = false;
    const cancelled = scheduler.schedule(() => (ran = true), 2);
    cancelled.unsubscribe();
    await new Promise<void>((resolve) => scheduler.schedule(() => resolve(), 8));
    expect(ran).toBe(false);
    expect(cancelled.closed).toBe(true);
  });

  it('closes the action once work has run without rescheduling', async () => {
    const scheduler = new RealtimeScheduler();
    let ran!: () => void;
    const done = new Promise<void>((resolve) => (ran = resolve));
    // Waits for this action's own work: a test of closing, not of order.
    const action = scheduler.schedule(() => ran(), 1);
    expect(action.closed).toBe(false);
    await done;
    expect(action.closed).toBe(true);
  });

  it('drives rxjs interval', async () => {
    const values = await lastValueFrom(interval(1, new RealtimeScheduler()).pipe(take(5), toArray()));
    expect(values).toEqual([0, 1, 2, 3, 4]);
  });

  it('drives the control clock: indices increase, no tick fires before its deadline', async () => {
    const scheduler = new RealtimeScheduler();
    const ticks = await lastValueFrom(controlClock$(2, scheduler).pipe(take(20), toArray()));
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]!.index).toBeGreaterThan(ticks[i - 1]!.index);
    for (const tick of ticks) expect(tick.firedAtMs).toBeGreaterThanOrEqual(tick.deadlineMs);
  });

  it('rejects a negative or non-finite spin margin', () => {
    expect(() => new RealtimeScheduler({ spinMarginMs: -1 })).toThrow(/^spinMarginMs must be .* got -1$/);
    expect(() => new RealtimeScheduler({ spinMarginMs: Number.POSITIVE_INFINITY })).toThrow(
      /^spinMarginMs must be .* got Infinity$/,
    );
  });
});

describe('runControlLoop on the real-time scheduler (smoke)', () => {
  it('runs to its duration and stops the robot once', async () => {
    const scheduler = new RealtimeScheduler();
    const robot = new FakeRobot();
    robot.state = () => restState(scheduler.now());
    const indices: number[] = [];
    const report = await runControlLoop({
      robot,
      scheduler,
      periodMs: 2,
      maxStateAgeMs: 50,
      durationMs: 60,
      step: (_state, tick) => {
        indices.push(tick.index);
        return quietOutcome;
      },
    }).done;
    expect(report.stopReason).toBe('duration reached');
    expect(report.fault).toBe(false);
    expect(report.steps).toBe(indices.length);
    expect(indices.length).toBeGreaterThan(0);
    expect(robot.stopCalls).toBe(1);
  });

  it('ends on a fault when a Promise step rejects', async () => {
    const scheduler = new RealtimeScheduler();
    const robot = new FakeRobot();
    robot.state = () => restState(scheduler.now());
    const report = await runControlLoop({
      robot,
      scheduler,
      periodMs: 2,
      maxStateAgeMs: 50,
      durationMs: 5000,
      step: async (_state, tick) => {
        if (tick.index >= 2) throw new Error('onnx run failed');
        return quietOutcome;
      },
    }).done;
    expect(report).toMatchObject({ fault: true, stopReason: 'onnx run failed' });
    expect(robot.stopCalls).toBe(1);
  });
});
