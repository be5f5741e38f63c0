import { type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';

/** Options of {@link RealtimeScheduler}. */
export interface RealtimeSchedulerOptions {
  /**
   * How long before the due time the scheduler stops sleeping on a timer and starts spinning (ms).
   * Node timers have millisecond granularity and fire up to about a millisecond late (DESIGN.md,
   * "Timing"), so the last stretch of every wait is spent checking `performance.now()` instead.
   * Larger: more CPU, fewer late ticks. Default 0.9: at 500 Hz on the 2-core development machine
   * p99 jitter 0.28 ms at half a core, where 1.5 ms gave 0.10 ms at a whole core.
   */
  readonly spinMarginMs?: number;
}

/** Default {@link RealtimeSchedulerOptions.spinMarginMs}. */
export const DEFAULT_SPIN_MARGIN_MS = 0.9;

/**
 * The spin margin for a loop period: 1.5 ms where the period is long (a 25 Hz loop spins 4% of
 * the time, and timers firing a millisecond late no longer show as jitter: p99 1.08 ms at 25 Hz
 * with 0.9 ms), but under half the period, so a fast loop still sleeps part of each wait.
 */
export function spinMarginFor(periodMs: number): number {
  return Math.min(1.5, 0.45 * periodMs);
}

/**
 * An rxjs scheduler on wall-clock time for the real-time control loop: `now()` is
 * `performance.now()` (ms, fractional), and `schedule(work, delay)` sleeps on `setTimeout` for
 * most of the delay, then spins on `setImmediate` until the due time. Spinning with `setImmediate`
 * rather than a tight `while` loop lets I/O (rosbridge WebSocket messages, signals) through
 * between checks, at the cost of keeping one core busy during the spin.
 *
 * Why not rxjs `asyncScheduler`: a plain `interval(2)` here had p99 period error 2.3 ms and ran
 * 11% slow (DESIGN.md, "Timing"). The clock (control-clock.ts) computes absolute deadlines; this
 * scheduler's job is only to wake up on time.
 *
 * Works with rxjs actions' recursion: inside `work`, `this.schedule(state, delay)` reschedules the
 * same action (as `AsyncAction` does), so `interval(p, scheduler)` and `timer(d, scheduler)` work.
 */
export class RealtimeScheduler implements SchedulerLike {
  /** See {@link RealtimeSchedulerOptions.spinMarginMs}. */
  readonly spinMarginMs: number;
  /** Actions waiting for their due time: whichever wakes first runs every due one, in order. */
  private readonly waiting = new Set<RealtimeAction<unknown>>();
  private scheduledCount = 0;

  constructor(options: RealtimeSchedulerOptions = {}) {
    const spinMarginMs = options.spinMarginMs ?? DEFAULT_SPIN_MARGIN_MS;
    if (!Number.isFinite(spinMarginMs) || spinMarginMs < 0) {
      throw new Error(`spinMarginMs must be a finite number ≥ 0, got ${spinMarginMs}`);
    }
    this.spinMarginMs = spinMarginMs;
  }

  /** Milliseconds on the monotonic clock (`performance.now()`), fractional. */
  now(): number {
    return performance.now();
  }

  /**
   * Runs `work` once `delay` ms have passed (never synchronously, even for delay 0). Returns the
   * action: unsubscribing it cancels the pending run.
   */
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new RealtimeAction<T>(this, work).schedule(state, delay);
  }

  /** @internal An action's wait began; `order` breaks ties between equal due times. */
  wait(action: RealtimeAction<unknown>): number {
    this.waiting.add(action);
    return this.scheduledCount++;
  }

  /** @internal An action ran or was cancelled. */
  stopWaiting(action: RealtimeAction<unknown>): void {
    this.waiting.delete(action);
  }

  /**
   * Runs every waiting action that is due, earliest due time first. Each action wakes on its own
   * timer or immediate, and Node runs expired timers before immediates in each event-loop turn; on
   * a stalled loop (GC, a loaded machine) several actions are overdue at once and would otherwise
   * run in event-loop phase order rather than due order.
   */
  runDue(nowMs: number): void {
    // The control loop's usual case, once per tick: one action waiting, nothing to order.
    if (this.waiting.size === 1) {
      // Taken out first: work that reschedules re-enters the set, which a loop over it would visit.
      this.waiting.values().next().value!.runIfDue(nowMs);
      return;
    }
    const due = [...this.waiting].filter((action) => action.dueMs <= nowMs);
    due.sort((a, b) => a.dueMs - b.dueMs || a.order - b.order);
    // Work may cancel or reschedule actions later in the list: each checks it is still due.
    for (const action of due) action.runIfDue(nowMs);
  }
}

/** One scheduled piece of work; also the `this` of `work`, so that work can reschedule itself. */
class RealtimeAction<T> extends Subscription implements SchedulerAction<T> {
  private timeout: ReturnType<typeof setTimeout> | undefined;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  /** When the work is due (`performance.now()` ms); read by the scheduler to order due work. */
  dueMs = 0;
  /** Schedule order, for equal due times. */
  order = 0;
  private state: T | undefined;
  /** Set by `schedule`, cleared when work starts: work that does not reschedule ends the action. */
  private pending = false;

  constructor(
    private readonly scheduler: RealtimeScheduler,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.clearTimers();
    this.pending = true;
    const waitMs = Math.max(0, delay);
    this.dueMs = performance.now() + waitMs;
    this.order = this.scheduler.wait(this as RealtimeAction<unknown>);
    const sleepMs = waitMs - this.scheduler.spinMarginMs;
    // setTimeout clamps anything below 1 ms to 1 ms, so shorter sleeps are spun entirely.
    if (sleepMs >= 1) this.timeout = setTimeout(this.spin, sleepMs);
    else this.immediate = setImmediate(this.spin);
    return this;
  }

  override unsubscribe(): void {
    if (this.closed) return;
    this.clearTimers();
    this.pending = false;
    this.scheduler.stopWaiting(this as RealtimeAction<unknown>);
    super.unsubscribe();
  }

  /** Checks the clock once per event-loop turn until due, then runs all due work in order. */
  private readonly spin = (): void => {
    this.timeout = undefined;
    this.immediate = undefined;
    if (this.closed) return;
    const nowMs = performance.now();
    if (nowMs < this.dueMs) {
      this.immediate = setImmediate(this.spin);
      return;
    }
    try {
      this.scheduler.runDue(nowMs);
    } finally {
      // Earlier due work threw before this action's turn: keep waking, as it has no timer now.
      if (this.pending && this.timeout === undefined && this.immediate === undefined) {
        this.immediate = setImmediate(this.spin);
      }
    }
  };

  /** Runs the work if this action is still waiting and due at `nowMs` (see `runDue`). */
  runIfDue(nowMs: number): void {
    if (this.closed || !this.pending || this.dueMs > nowMs) return;
    this.clearTimers();
    this.scheduler.stopWaiting(this as RealtimeAction<unknown>);
    this.pending = false;
    try {
      this.work.call(this, this.state);
    } catch (error) {
      // As rxjs's AsyncAction: the action is over, and the error is not ours to swallow. Due work
      // after it still has its own timer, so it runs on the next event-loop turn.
      this.unsubscribe();
      throw error;
    }
    if (!this.pending) this.unsubscribe();
  }

  private clearTimers(): void {
    if (this.timeout !== undefined) clearTimeout(this.timeout);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timeout = undefined;
    this.immediate = undefined;
  }
}
