import type { EpisodeController } from './basic.js';
import type { ObservationLayout } from './contract.js';
import { type ActFailureKind, ControllerSandbox, type SandboxLimits } from './sandbox.js';

/** One failed `act` call. */
export interface ControllerFailure {
  step: number;
  kind: ActFailureKind;
  message: string;
}

export interface SandboxedControllerOptions {
  /** Failed calls (each answered with a zero action) after which the episode is ended. */
  maxFailuresPerEpisode: number;
  limits?: Partial<SandboxLimits>;
  dtSec: number;
  maxSteps: number;
}

/**
 * A prior controller (LLM-written or bundled) driving an env through its sandbox. A call that
 * throws, times out, returns the wrong number of values or a non-finite one is answered with a
 * zero action (the arm holds still), recorded, and after `maxFailuresPerEpisode` of them, or a
 * memory-limit kill, {@link SandboxedController.abortReason} tells the caller to end the episode.
 */
export class SandboxedController implements EpisodeController {
  readonly name: string;
  private readonly sandbox: ControllerSandbox;
  private readonly options: SandboxedControllerOptions;
  private readonly zero: Float64Array;
  private step = 0;
  private failureList: ControllerFailure[] = [];
  private abort: string | undefined;

  constructor(name: string, code: string, layout: ObservationLayout, options: SandboxedControllerOptions) {
    this.name = name;
    this.options = options;
    this.sandbox = ControllerSandbox.create(code, layout, {
      dtSec: options.dtSec,
      maxSteps: options.maxSteps,
      ...(options.limits ? { limits: options.limits } : {}),
    });
    this.zero = new Float64Array(layout.actionSize);
  }

  reset(): void {
    this.step = 0;
    this.failureList = [];
    this.abort = undefined;
    this.sandbox.startEpisode();
  }

  act(observation: Float64Array, achievedGoal: Float64Array, desiredGoal: Float64Array): Float64Array {
    const result = this.sandbox.act(observation, achievedGoal, desiredGoal, this.step++);
    if (result.ok) return result.action;
    this.failureList.push({ step: this.step - 1, kind: result.kind, message: result.message });
    if (result.fatal || this.failureList.length >= this.options.maxFailuresPerEpisode) {
      this.abort = `the controller failed ${this.failureList.length} time(s) this episode (last at step ${this.step - 1}: ${result.kind}: ${result.message})`;
    }
    return this.zero.slice();
  }

  /** Whether the controller has kept state in `ctx.memory` (see ControllerSandbox.keepsMemory). */
  keepsMemory(): boolean {
    return this.sandbox.keepsMemory();
  }

  /** Set once the episode should end because of the controller's failures. */
  abortReason(): string | undefined {
    return this.abort;
  }

  /** Failures of the current episode. */
  failures(): readonly ControllerFailure[] {
    return this.failureList;
  }

  dispose(): void {
    this.sandbox.dispose();
  }
}
