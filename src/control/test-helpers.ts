import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import type { JointCommand, Robot, RobotLink, RobotSpec, RobotState, StopOutcome } from '../bridge/robot.js';
import type { StepOutcome } from './loop-contract.js';

/**
 * A scripted {@link Robot} for control-loop tests: its state, link and stop behaviour are set by
 * the test, and it records every command and stop.
 */
export class FakeRobot implements Robot {
  readonly spec: RobotSpec = { name: 'fake', jointNames: ['j1', 'j2', 'j3'], hasGripper: false };
  /** Commands sent through `act` while the link was up. */
  readonly sent: JointCommand[] = [];
  /** How many times `act` was called, sent or not. */
  actCalls = 0;
  stopCalls = 0;
  /** What `observe()` returns; a function of nothing so tests can make it time-dependent. */
  state: () => RobotState | undefined = () => undefined;
  /** What `link()` returns; a function so tests can drop the link for a while. */
  linkState: () => RobotLink = () => 'connected';
  /** What `stop()` does; resolves confirmed by default. */
  stopImpl: () => Promise<StopOutcome> = () => Promise.resolve(CONFIRMED);
  private readonly faultListeners: ((reason: string) => void)[] = [];

  async connect(): Promise<void> {}

  observe(): RobotState | undefined {
    return this.state();
  }

  act(command: JointCommand): JointCommand | undefined {
    this.actCalls++;
    if (this.linkState() !== 'connected') return undefined;
    this.sent.push(command);
    return command;
  }

  stop(): Promise<StopOutcome> {
    this.stopCalls++;
    return this.stopImpl();
  }

  async close(): Promise<void> {}

  link(): RobotLink {
    return this.linkState();
  }

  onFault(listener: (reason: string) => void): void {
    this.faultListeners.push(listener);
  }

  /** Reports a fault to every listener, as an e-stop topic would. */
  fault(reason: string): void {
    for (const listener of this.faultListeners) listener(reason);
  }
}

/** The stop a robot that is always stopped at once reports. */
export const CONFIRMED: StopOutcome = { kind: 'confirmed', detail: 'the fake robot holds' };

/** A state measured at `stampMs`, joints at rest. */
export function restState(stampMs: number, joints = 3): RobotState {
  return { stampMs, jointPositions: new Float64Array(joints), jointVelocities: new Float64Array(joints) };
}

/** A step outcome with no interventions. */
export const quietOutcome: StepOutcome = { actorLatencyMs: 0.1, interventions: [] };

/**
 * A scheduler that wakes up late, to reproduce a stalled event loop in virtual time:
 * `lagMs(dueMs)` is added to the delay of work due at `dueMs`.
 */
export class LateScheduler implements SchedulerLike {
  constructor(
    private readonly inner: SchedulerLike,
    private readonly lagMs: (dueMs: number) => number,
  ) {}

  now(): number {
    return this.inner.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return this.inner.schedule(work, delay + this.lagMs(this.inner.now() + delay), state);
  }
}
