import {
  catchError,
  EMPTY,
  finalize,
  from,
  ignoreElements,
  interval,
  isObservable,
  map,
  merge,
  type Observable,
  of,
  ReplaySubject,
  Subject,
  take,
  takeUntil,
  tap,
  throwIfEmpty,
  timer,
} from 'rxjs';
import { type StopOutcome, zeroCommand } from '../bridge/robot.js';
import { ArmpriorError, messageOf } from '../core/errors.js';
import { controlClock$ } from './control-clock.js';
import type { ControlLoopOptions, LoopReport, LoopStats, StepOutcome, Tick } from './loop-contract.js';
import { skipWhileBusy } from './skip-while-busy.js';
import { LoopStatsRecorder } from './timing-stats.js';

/** A running control loop, as returned by {@link runControlLoop}. */
export interface ControlLoopHandle {
  /**
   * Live statistics every `reportEveryMs` of scheduler time (hot: a late subscriber sees only later
   * snapshots). Completes when the loop ends, before the robot's safe stop has settled.
   */
  readonly stats$: Observable<LoopStats>;
  /**
   * The final report, once `robot.stop()` has settled. Rejects only with a {@link SafeStopError}
   * (the safe stop itself failed: the robot may still be moving), which carries the report.
   */
  readonly done: Promise<LoopReport>;
  /** Asks the loop to end, as `options.stop$` emitting `reason` would (not a fault). */
  stop(reason: string): void;
}

/** The loop's own misuse errors: options out of range, a step that gave no outcome. */
export class ControlLoopError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('control_loop', message, options);
  }
}

/**
 * `robot.stop()` threw or rejected after the loop ended: the robot may not be stopped. `report`
 * is the run's report, with `fault` true, the failure appended to `stopReason` and an
 * `unconfirmed` stop.
 */
export class SafeStopError extends ArmpriorError {
  readonly report: LoopReport;
  constructor(report: LoopReport, options: { cause: unknown }) {
    super('safe_stop_failed', `the robot's safe stop failed: ${report.stopReason}`, options);
    this.report = report;
  }
}

/** Why the loop ended; the first ending wins. */
interface Ending {
  readonly reason: string;
  readonly fault: boolean;
}

const DEFAULT_REPORT_EVERY_MS = 1000;

/**
 * Runs the real-time control loop (DESIGN.md, "Data flow"): starts at once and returns a handle.
 *
 * On each tick of {@link controlClock$}, in order:
 * 1. link not `connected` → nothing is sent (counted in `linkDownTicks`, told to `onHold`);
 * 2. no state, or a state older than `maxStateAgeMs` on the scheduler's clock → watchdog: a
 *    zero-velocity command holds the arm (counted in `watchdogHolds`, told to `onHold`), the step
 *    is not called;
 * 3. otherwise `options.step(state, tick, signal)`; ticks arriving while it runs are dropped,
 *    never queued, and counted as overruns, as are deadlines the clock skipped because it was late.
 *    A tick that finds the step still running after more than `maxStateAgeMs` abandons it: its
 *    signal is aborted (it must send nothing after), a zero-velocity command holds the arm
 *    (counted in `abandonedSteps`, told to `onHold`), and the next tick starts a new step from
 *    fresh state. The
 *    clock and the watchdog never wait on a step (an actor that hangs, issue #17).
 *
 * The loop ends when `durationMs` is reached (`duration reached`), `stop$` emits or
 * {@link ControlLoopHandle.stop} is called (that reason), a step throws or rejects (its message,
 * `fault`), `robot.onFault` reports (its reason, `fault`), or anything else in the loop errors
 * (its message, `fault`). Whatever the ending, including unsubscription, the step's `signal` is
 * aborted and then `robot.stop()` is called exactly once; `done` settles after it has, with the
 * stop's outcome in the report (`report.stop`; one that is not `confirmed` makes `fault` true).
 *
 * Time comes only from `options.scheduler`, so the whole loop runs in virtual time under rxjs
 * `TestScheduler` (with synchronous or Observable steps: a Promise settles outside virtual time).
 * `RobotState.stampMs` must be on that same clock (`performance.now()` for
 * {@link RealtimeScheduler}).
 *
 * Throws {@link ControlLoopError} at once for options out of range.
 */
export function runControlLoop(options: ControlLoopOptions): ControlLoopHandle {
  checkOptions(options);
  const { robot, scheduler } = options;
  const reportEveryMs = options.reportEveryMs ?? DEFAULT_REPORT_EVERY_MS;
  const stats = new LoopStatsRecorder(scheduler.now());
  const stats$ = new Subject<LoopStats>();
  // Replayed so that a fault reported before the pipeline subscribes is not lost.
  const requestedEnding$ = new ReplaySubject<Ending>(1);
  /** The last step started: its signal is aborted at the end, whether or not it still runs. */
  let lastStep: AbortController | undefined;
  let ending: Ending | undefined;
  const endWith = (candidate: Ending): void => {
    ending ??= candidate;
  };

  let resolveDone!: (report: LoopReport) => void;
  let rejectDone!: (error: SafeStopError) => void;
  const done = new Promise<LoopReport>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });

  // The contract has no way to unregister; after the end, the subject has no subscriber left.
  robot.onFault((reason) => requestedEnding$.next({ reason, fault: true }));

  /** The step in flight: when it started (scheduler ms), and how to give it up. */
  let inFlight: { startedMs: number; abandon: AbortController; abandoned$: Subject<void> } | undefined;
  const handleTick = (tick: Tick): Observable<never> => {
    stats.tickHandled(tick);
    if (robot.link() !== 'connected') {
      stats.linkDown();
      options.onHold?.('link_down');
      return EMPTY;
    }
    const state = robot.observe();
    if (state === undefined || scheduler.now() - state.stampMs > options.maxStateAgeMs) {
      // Acting on an old picture of the world is how an arm hits things: hold until fresh state returns.
      robot.act(zeroCommand(robot.spec.jointNames.length));
      stats.watchdogHold();
      options.onHold?.('stale_state');
      return EMPTY;
    }
    const step = {
      startedMs: scheduler.now(),
      abandon: new AbortController(),
      abandoned$: new Subject<void>(),
    };
    inFlight = step;
    lastStep = step.abandon;
    // The step's own signal: aborted when it is abandoned, and when the loop ends (safeStop).
    // Not AbortSignal.any over a loop-wide signal: one composite per step, at 500 Hz for hours,
    // is a lot of listeners for the loop's signal to hold.
    return outcome$(options.step(state, tick, step.abandon.signal)).pipe(
      takeUntil(step.abandoned$),
      tap((outcome) => stats.stepDone(outcome)),
      ignoreElements(),
      finalize(() => {
        if (inFlight === step) inFlight = undefined;
      }),
    );
  };
  const tickDropped = (): void => {
    stats.tickDropped();
    const step = inFlight;
    if (step === undefined || scheduler.now() - step.startedMs <= options.maxStateAgeMs) return;
    // The arm has kept the step's previous command all this time, and what the step would send
    // now comes from a state older than the limit: give the step up (its signal tells it to send
    // nothing), hold the arm, and go on at the loop's rate with fresh state.
    step.abandon.abort(`the control step ran past maxStateAgeMs, ${options.maxStateAgeMs} ms`);
    robot.act(zeroCommand(robot.spec.jointNames.length));
    stats.stepAbandoned();
    options.onHold?.('abandoned_step');
    step.abandoned$.next();
  };

  const ticks$ = controlClock$(options.periodMs, scheduler).pipe(
    tap((tick) => stats.tickEmitted(tick)),
    skipWhileBusy(handleTick, tickDropped),
  );
  const live$ = interval(reportEveryMs, scheduler).pipe(
    tap(() => stats$.next(stats.snapshot(scheduler.now()))),
  );
  const endings$ = merge(
    requestedEnding$,
    options.stop$?.pipe(map((reason): Ending => ({ reason, fault: false }))) ?? EMPTY,
    options.durationMs === undefined
      ? EMPTY
      : timer(options.durationMs, scheduler).pipe(
          map((): Ending => ({ reason: 'duration reached', fault: false })),
        ),
  ).pipe(take(1), tap(endWith));

  const safeStop = (): void => {
    const final = ending ?? { reason: 'control loop unsubscribed', fault: false };
    // Before robot.stop(): an in-flight asynchronous step must not send after the stop.
    lastStep?.abort(final.reason);
    const report = {
      ...stats.snapshot(scheduler.now()),
      stopReason: final.reason,
      fault: final.fault,
      endedOnFault: final.fault,
    };
    stats$.complete();
    let stopped: Promise<StopOutcome>;
    try {
      stopped = Promise.resolve(robot.stop());
    } catch (error) {
      stopped = Promise.reject(error);
    }
    stopped.then(
      (outcome) => resolveDone(withStop(report, outcome)),
      (error: unknown) =>
        rejectDone(
          new SafeStopError(
            {
              ...report,
              fault: true,
              stopReason: `${report.stopReason}; safe stop failed: ${messageOf(error)}`,
              stop: {
                kind: 'unconfirmed',
                detail: `the safe stop failed (${messageOf(error)}); whether a stop command went out is not known`,
                operatorAction: STOP_UNKNOWN_ACTION,
              },
            },
            { cause: error },
          ),
        ),
    );
  };

  merge(ticks$, live$)
    .pipe(
      takeUntil(endings$),
      catchError((error: unknown) => {
        endWith({ reason: messageOf(error), fault: true });
        return EMPTY;
      }),
      // finalize runs on completion, error and unsubscription alike: the one place the robot stops.
      finalize(safeStop),
    )
    .subscribe();

  return {
    stats$: stats$.asObservable(),
    done,
    stop: (reason) => requestedEnding$.next({ reason, fault: false }),
  };
}

const STOP_UNKNOWN_ACTION = 'check the arm now and stop it at the robot (its e-stop) if it is moving';

/**
 * The report with the stop's outcome. A stop that is not confirmed makes the run a fault, whatever
 * ended it (issue #17): "duration reached" with the link down, or with no state to show the arm
 * at rest, is not a clean run.
 */
function withStop(report: Omit<LoopReport, 'stop'>, outcome: StopOutcome | undefined): LoopReport {
  const stop: StopOutcome = outcome ?? {
    kind: 'unconfirmed',
    detail: 'the robot did not say what its stop achieved',
    operatorAction: STOP_UNKNOWN_ACTION,
  };
  return { ...report, fault: report.fault || stop.kind !== 'confirmed', stop };
}

/** The step's answer as an Observable of exactly one outcome. */
function outcome$(result: ReturnType<ControlLoopOptions['step']>): Observable<StepOutcome> {
  if (isObservable(result)) {
    return result.pipe(
      take(1),
      throwIfEmpty(() => new ControlLoopError('the control step completed without an outcome')),
    );
  }
  if (isPromiseLike(result)) return from(result);
  return of(result);
}

function isPromiseLike(value: unknown): value is PromiseLike<StepOutcome> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

function checkOptions(options: ControlLoopOptions): void {
  const problems: string[] = [];
  const positive = (name: string, value: number | undefined, allowZero = false): void => {
    if (value === undefined) return;
    if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
      problems.push(`${name} must be a finite number ${allowZero ? '≥' : '>'} 0, got ${value}`);
    }
  };
  positive('periodMs', options.periodMs);
  positive('maxStateAgeMs', options.maxStateAgeMs, true);
  positive('durationMs', options.durationMs, true);
  positive('reportEveryMs', options.reportEveryMs);
  if (problems.length > 0) throw new ControlLoopError(`control loop options: ${problems.join('; ')}`);
}
