import { Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { Tick } from './loop-contract.js';

/**
 * The control loop's clock: a {@link Tick} for every deadline `start + index × periodMs`, where
 * `start` is the scheduler's time at subscription.
 *
 * - No drift: each deadline comes from the fixed start, never from the previous firing, so
 *   timers that round up or fire late do not add up (DESIGN.md, "Timing": a plain `interval(2)`
 *   ran 11% slow).
 * - No catch-up bursts: a tick that fires a period or more late is emitted for the latest
 *   deadline that has passed; the deadlines in between are skipped, so `Tick.index` jumps and the
 *   consumer can count the gap as overruns. A stale tick is worth nothing to a robot.
 * - Only `scheduler.now()` and `scheduler.schedule()` are used, so the clock runs in virtual time
 *   under rxjs `TestScheduler`, and on {@link RealtimeScheduler} on hardware.
 *
 * The first tick (index 0) is due at the start and, as with any rxjs scheduler, fires
 * asynchronously. Never completes.
 */
export function controlClock$(periodMs: number, scheduler: SchedulerLike): Observable<Tick> {
  // `run --rate` and the task config bound the rate for users: a bad period is a caller's bug.
  if (!Number.isFinite(periodMs) || periodMs <= 0) {
    throw new Error(`periodMs must be a finite number > 0, got ${periodMs}`);
  }
  return new Observable<Tick>((subscriber) => {
    const startMs = scheduler.now();
    const deadlineOf = (index: number): number => startMs + index * periodMs;
    let pending: Subscription | undefined;

    const fire = (dueIndex: number): void => {
      const firedAtMs = scheduler.now();
      const index = latestPassedDeadline(dueIndex, firedAtMs);
      subscriber.next({ index, deadlineMs: deadlineOf(index), firedAtMs });
      // The consumer may have unsubscribed while handling the tick (take(n), a fault).
      if (!subscriber.closed) arm(index + 1);
    };
    // Each tick is a fresh `schedule` call rather than `this.schedule` recursion, so any
    // SchedulerLike works, including wrappers that only implement the two methods.
    const arm = (index: number): void => {
      pending = scheduler.schedule(() => fire(index), Math.max(0, deadlineOf(index) - scheduler.now()));
    };
    /** The largest index ≥ dueIndex whose deadline is ≤ firedAtMs (dueIndex when on time). */
    const latestPassedDeadline = (dueIndex: number, firedAtMs: number): number => {
      let index = Math.max(dueIndex, Math.floor((firedAtMs - startMs) / periodMs));
      // Floating point can put the floor one off near a deadline; settle it on the deadlines themselves.
      while (index > dueIndex && deadlineOf(index) > firedAtMs) index--;
      while (deadlineOf(index + 1) <= firedAtMs) index++;
      return index;
    };

    arm(0);
    return () => pending?.unsubscribe();
  });
}
