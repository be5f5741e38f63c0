import type { Observable, SchedulerLike } from 'rxjs';
import type { Robot, RobotState, StopOutcome } from '../bridge/robot.js';
import type { InterventionKind } from '../bridge/safety.js';

/** One tick of the control clock. */
export interface Tick {
  /** 0, 1, 2… counting every deadline since the start, skipped ones included. */
  readonly index: number;
  /** When the tick was due: start + index × period (ms, scheduler clock). */
  readonly deadlineMs: number;
  /** When it actually fired (ms, scheduler clock). */
  readonly firedAtMs: number;
}

/** What one control step did, for the statistics. */
export interface StepOutcome {
  /** Time the actor took to propose the action (ms). */
  readonly actorLatencyMs: number;
  /** Limits enforced on this step's command. */
  readonly interventions: readonly InterventionKind[];
}

/**
 * One control step from a fresh state: build the observation, ask the actor, pass the action
 * through the safety filter, send it (src/control/control-step.ts). Throwing (or rejecting, or
 * erroring) is a fault: the loop ends with a safe stop and reports the error's message as the
 * reason.
 *
 * The step may answer synchronously, with a Promise, or with an Observable (its first value is
 * the outcome; an Observable lets tests give a step a duration in virtual time, e.g.
 * `timer(3, scheduler).pipe(map(() => outcome))`). While it runs, later ticks are dropped and
 * counted as overruns; a step still running after `maxStateAgeMs` is abandoned: the loop holds
 * the robot and goes on (issue #17: the loop never waits on an actor).
 *
 * `signal` is aborted when the step is abandoned, and when the loop ends (just before
 * `robot.stop()`): an asynchronous step must pass it to whatever it waits on, check
 * `signal.aborted` right before `robot.act()` and send nothing once it is set, or a command sent
 * after a hold or the safe stop would set the arm moving again (commands are held until the next one).
 */
export type ControlStep = (
  state: RobotState,
  tick: Tick,
  signal: AbortSignal,
) => StepOutcome | PromiseLike<StepOutcome> | Observable<StepOutcome>;

export interface ControlLoopOptions {
  readonly robot: Robot;
  readonly step: ControlStep;
  /** Clock and timers; `RealtimeScheduler` on hardware, `TestScheduler` in tests. */
  readonly scheduler: SchedulerLike;
  readonly periodMs: number;
  /** State older than this makes the watchdog send zero velocity and hold. */
  readonly maxStateAgeMs: number;
  /** Stop after this long (ms); default: until stopped. */
  readonly durationMs?: number;
  /** Emits a reason to stop (Ctrl-C, SIGTERM): the loop stops safely and reports it. */
  readonly stop$?: Observable<string>;
  /** How often live statistics are emitted (ms of scheduler time); default 1000. */
  readonly reportEveryMs?: number;
  /**
   * Told on every tick that does not step: `link_down` (nothing sent) or `stale_state` (the
   * watchdog held the arm). The arm did not follow the last step's command for a whole period,
   * so a recording must not join the steps on either side (issue #17).
   */
  readonly onHold?: (kind: HoldKind) => void;
}

/** Why a tick held the robot instead of stepping: the link, stale state, or a step given up. */
export type HoldKind = 'link_down' | 'stale_state' | 'abandoned_step';

/** Percentiles of a timing series (ms). */
export interface TimingSummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Statistics of a run so far (live) or of the whole run (final). */
export interface LoopStats {
  /** Scheduler time since the start (ms). */
  readonly elapsedMs: number;
  /** Steps that ran to the end (a command was sent). */
  readonly steps: number;
  /** Achieved step rate (Hz) over the run. */
  readonly rateHz: number;
  /** |fired − deadline| of each tick that ran (ms). */
  readonly periodJitterMs: TimingSummary;
  readonly actorLatencyMs: TimingSummary;
  /** Ticks skipped because the previous step was still running, or their deadline had passed. */
  readonly overruns: number;
  /** Ticks on which the watchdog held the robot (stale or missing state). */
  readonly watchdogHolds: number;
  /**
   * Steps given up because they ran past `maxStateAgeMs` (an actor that did not answer in time):
   * the loop held the robot instead and went on at its rate.
   */
  readonly abandonedSteps: number;
  /** Ticks with the link down (nothing sent). */
  readonly linkDownTicks: number;
  /** Safety interventions by kind. */
  readonly interventions: Readonly<Record<InterventionKind, number>>;
}

export interface LoopReport extends LoopStats {
  /** Why the loop ended: `duration reached`, the stop reason, or the fault's message. */
  readonly stopReason: string;
  /**
   * True when it ended on a fault ({@link endedOnFault}), or when the robot's stop was not
   * confirmed: a run that cannot show the arm stopped did not end cleanly (issue #17).
   */
  readonly fault: boolean;
  /** The ending itself was a fault (a step threw, the robot reported one), whatever the stop achieved. */
  readonly endedOnFault: boolean;
  /** What `robot.stop()` achieved at the end: the report says exactly what happened to the robot. */
  readonly stop: StopOutcome;
}
