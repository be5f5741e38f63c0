/** Limits, results and errors of the controller sandbox. */
import { ArmpriorError } from '../../core/errors.js';

/** Limits applied to one controller (config/sandbox.yaml). */
export interface SandboxLimits {
  /** V8 heap of the controller's isolate (MiB; isolated-vm's minimum is 8). A soft limit. */
  memoryLimitMb: number;
  /**
   * Data segment of the whole sandbox process (MiB; RLIMIT_DATA, enforced by the OS): what the
   * isolate's soft heap limit misses — typed arrays, `WebAssembly.Memory`, one huge allocation —
   * fails inside the sandbox or ends its process, never the host's.
   */
  processMemoryLimitMb: number;
  /**
   * Longest one `act` call may run (ms). Past it the isolate stops the call (a counted failure);
   * a call that cannot be interrupted (a long built-in) has its process killed a grace period
   * later ({@link killDeadlineMs}).
   */
  callTimeoutMs: number;
  /** Longest the module's top level may run when loaded (ms). */
  loadTimeoutMs: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  memoryLimitMb: 32,
  processMemoryLimitMb: 256,
  callTimeoutMs: 100,
  loadTimeoutMs: 500,
};

/**
 * When the host gives up on a call and kills the sandbox process (ms after the call was sent):
 * the isolate's own timeout, plus as long again (at least 100 ms) for it to answer on a busy
 * machine, so that an interruptible endless loop stays an ordinary (non-fatal) timeout.
 */
export function killDeadlineMs(timeoutMs: number): number {
  return timeoutMs + Math.max(100, timeoutMs);
}

/** Code that cannot become a controller: it does not compile, imports something, or has no `act`. */
export class ControllerLoadError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('controller_invalid', message, options);
  }
}

/**
 * The sandbox process could not be started at all (not the controller's fault): a missing build,
 * a machine out of processes. Reported as an environment problem, not as a bad controller.
 */
export class SandboxStartError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('sandbox_start', message, options);
  }
}

/**
 * Why one `act` call failed: it threw, ran past its time limit, returned something that is not
 * an action, ran out of memory, or its sandbox process died for another reason.
 */
export type ActFailureKind = 'threw' | 'timeout' | 'bad-output' | 'memory' | 'crashed';

export type ActResult =
  | { ok: true; action: Float64Array }
  | {
      ok: false;
      kind: ActFailureKind;
      /** Bounded (src/core/bounded-text.ts): it came from the controller. */
      message: string;
      /** The sandbox process is gone: every later call fails until it is restarted. */
      fatal: boolean;
    };
