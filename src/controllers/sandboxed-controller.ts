import type { ObservationLayout } from '../contract/controller-contract.js';
import type { EpisodeController } from '../episodes/run-episode.js';
import { ControllerSandbox } from './sandbox/controller-sandbox.js';
import { type ActFailureKind, ControllerLoadError, type SandboxLimits } from './sandbox/types.js';

/** One failed `act` call. */
export interface ControllerFailure {
  step: number;
  kind: ActFailureKind;
  /** Bounded: it came from the controller. */
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
 * A prior controller (LLM-written or bundled) driving an env through its sandbox process. A call
 * that throws, times out, returns the wrong number of values or a non-finite one is answered with
 * a zero action (the arm holds still), recorded, and after `maxFailuresPerEpisode` of them, or
 * once the sandbox process is gone (memory, a crash, a call killed at its deadline),
 * {@link SandboxedController.abortReason} tells the caller to end the episode. A sandbox that is
 * gone is started again at the next episode (counted in {@link SandboxedController.restarts}).
 */
export class SandboxedController implements EpisodeController {
  readonly name: string;
  /** A prior's actions are demonstrations. */
  readonly isPrior = true;
  private sandbox: ControllerSandbox;
  private readonly code: string;
  private readonly layout: ObservationLayout;
  private readonly options: SandboxedControllerOptions;
  private readonly zero: Float64Array;
  private step = 0;
  private failureList: ControllerFailure[] = [];
  private abort: string | undefined;
  private keptMemory = false;
  private restartCount = 0;
  private disposed = false;

  /** Starts the sandbox and loads `code`; throws ControllerLoadError when it cannot be a controller. */
  static async create(
    name: string,
    code: string,
    layout: ObservationLayout,
    options: SandboxedControllerOptions,
  ): Promise<SandboxedController> {
    const sandbox = await ControllerSandbox.create(code, layout, sandboxOptions(options));
    return new SandboxedController(name, code, layout, options, sandbox);
  }

  private constructor(
    name: string,
    code: string,
    layout: ObservationLayout,
    options: SandboxedControllerOptions,
    sandbox: ControllerSandbox,
  ) {
    this.name = name;
    this.code = code;
    this.layout = layout;
    this.options = options;
    this.sandbox = sandbox;
    this.zero = new Float64Array(layout.actionSize);
  }

  reset(): void {
    this.step = 0;
    this.failureList = [];
    this.abort = undefined;
  }

  /**
   * The controller's action for this step, or a zero action when the call failed (recorded in
   * {@link failures}). `signal` abandons the call (the control loop's deadline passed): the
   * sandbox process is killed and the call counts as a timeout.
   */
  async act(
    observation: Float64Array,
    achievedGoal: Float64Array,
    desiredGoal: Float64Array,
    signal?: AbortSignal,
  ): Promise<Float64Array> {
    const step = this.step++;
    if (step === 0 && !this.sandbox.alive && !this.disposed) {
      const restarted = await this.restart();
      if (restarted !== undefined) return this.failed(step, 'crashed', restarted, true);
    }
    const result = await this.sandbox.act(observation, achievedGoal, desiredGoal, step, step === 0, signal);
    this.keptMemory ||= this.sandbox.keepsMemory();
    if (result.ok) return result.action;
    return this.failed(step, result.kind, result.message, result.fatal);
  }

  /** Whether the controller has kept state in `ctx.memory`, in any episode (sticky). */
  keepsMemory(): boolean {
    return this.keptMemory;
  }

  /** Set once the episode should end because of the controller's failures. */
  abortReason(): string | undefined {
    return this.abort;
  }

  /** Failures of the current episode. */
  failures(): readonly ControllerFailure[] {
    return this.failureList;
  }

  /** Sandbox processes started again after one was gone. */
  get restarts(): number {
    return this.restartCount;
  }

  dispose(): void {
    this.disposed = true;
    this.sandbox.dispose();
  }

  private failed(step: number, kind: ActFailureKind, message: string, fatal: boolean): Float64Array {
    this.failureList.push({ step, kind, message });
    // The first reason to end the episode is the one to tell: later calls only fail because of it.
    if (this.abort === undefined && fatal) {
      this.abort = `its sandbox stopped at step ${step} (${kind}): ${message}`;
    } else if (this.abort === undefined && this.failureList.length >= this.options.maxFailuresPerEpisode) {
      this.abort = `the controller failed ${this.failureList.length} time(s) this episode (last at step ${step}: ${kind}: ${message})`;
    }
    return this.zero.slice();
  }

  /** A new sandbox for a new episode; the reason when it cannot be had. */
  private async restart(): Promise<string | undefined> {
    this.restartCount++;
    try {
      this.sandbox = await ControllerSandbox.create(this.code, this.layout, sandboxOptions(this.options));
      return undefined;
    } catch (error) {
      if (error instanceof ControllerLoadError)
        return `its sandbox could not be started again: ${error.message}`;
      throw error;
    }
  }
}

function sandboxOptions(options: SandboxedControllerOptions) {
  return {
    dtSec: options.dtSec,
    maxSteps: options.maxSteps,
    ...(options.limits ? { limits: options.limits } : {}),
  };
}
