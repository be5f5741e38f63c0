import ivm from 'isolated-vm';
import { ArmpriorError, messageOf } from '../core/errors.js';
import { HELPERS_SOURCE, type ObservationLayout } from './contract.js';

/** Limits applied to one controller. */
export interface SandboxLimits {
  /** V8 heap of the controller's isolate (MiB; isolated-vm's minimum is 8). */
  memoryLimitMb: number;
  /** Longest one `act` call may run (ms) before it is stopped and counted as a failure. */
  callTimeoutMs: number;
  /** Longest the module's top level may run when loaded (ms). */
  loadTimeoutMs: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  memoryLimitMb: 32,
  callTimeoutMs: 100,
  loadTimeoutMs: 500,
};

/** Code that cannot become a controller: it does not compile, imports something, or has no `act`. */
export class ControllerLoadError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('controller_invalid', message, options);
  }
}

/** Why one `act` call failed. */
export type ActFailureKind = 'threw' | 'timeout' | 'bad-output' | 'memory';

export type ActResult =
  | { ok: true; action: Float64Array }
  | {
      ok: false;
      kind: ActFailureKind;
      message: string /** The sandbox is gone (memory limit): every later call fails. */;
      fatal: boolean;
    };

/**
 * Runs the in-isolate side of a call: builds the named observation from a flat array, calls the
 * controller's `act`, checks what it returned. Runs inside the sandbox; `__act` is the module's
 * export, set from the host.
 */
const RUNNER_SOURCE = `
(function install(fields, observationSize, goalSize, actionSize, dt, maxSteps) {
  let memory = {};
  let memoryKept = false;
  const describe = (v) => (Array.isArray(v) ? 'an array of ' + v.length : v === null ? 'null' : typeof v);
  globalThis.__armprior = Object.freeze({
    start() { memory = {}; },
    memoryKept() { return memoryKept; },
    step(values, step) {
      const obs = {};
      for (const f of fields) obs[f.name] = f.size === 1 ? values[f.offset] : values.slice(f.offset, f.offset + f.size);
      obs.achievedGoal = values.slice(observationSize, observationSize + goalSize);
      obs.desiredGoal = values.slice(observationSize + goalSize, observationSize + 2 * goalSize);
      let out;
      try {
        out = __act(obs, { step, dt, maxSteps, memory });
        if (!memoryKept) for (const _ in memory) { memoryKept = true; break; }
      } catch (error) {
        return { error: 'threw', message: String(error && error.stack ? error.stack.split('\\n').slice(0, 3).join(' | ') : error) };
      }
      if (out === null || typeof out !== 'object' || typeof out.length !== 'number') {
        return { error: 'bad-output', message: 'act() must return an array of ' + actionSize + ' numbers, got ' + describe(out) };
      }
      if (out.length !== actionSize) {
        return { error: 'bad-output', message: 'act() must return ' + actionSize + ' numbers, got ' + out.length };
      }
      const action = [];
      for (let i = 0; i < actionSize; i++) {
        const v = out[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          return { error: 'bad-output', message: 'act() returned ' + String(v) + ' at index ' + i + '; every value must be a finite number' };
        }
        action.push(v);
      }
      return action;
    },
  });
})`;

/** Makes the sandbox deterministic: controllers get no entropy or clock. */
const DETERMINISM_SOURCE = `
Math.random = function random() { throw new Error('Math.random is not available to controllers: they must be deterministic'); };
Date.now = function now() { throw new Error('Date.now is not available to controllers: use ctx.step and ctx.dt'); };
`;

/**
 * A controller module running in its own V8 isolate (isolated-vm): no `require`, `process`,
 * files, network or host objects (only copies of numbers cross the boundary), a heap limit and a
 * time limit per call. `node:vm` would not do: it is not a security boundary (shared/DESIGN.md).
 */
export class ControllerSandbox {
  readonly layout: ObservationLayout;
  readonly limits: SandboxLimits;
  private readonly isolate: ivm.Isolate;
  private readonly context: ivm.Context;
  private readonly stepRef: ivm.Reference<(values: number[], step: number) => unknown>;
  private readonly startRef: ivm.Reference<() => void>;
  private readonly memoryKeptRef: ivm.Reference<() => boolean>;
  private readonly values: number[];
  private disposed = false;

  /**
   * Loads `code` (an ES module exporting `act`) into a fresh isolate. Throws
   * {@link ControllerLoadError} naming the problem when it does not compile, imports a module,
   * throws or runs too long at load, or exports no function `act`.
   */
  static create(
    code: string,
    layout: ObservationLayout,
    options: { dtSec: number; maxSteps: number; limits?: Partial<SandboxLimits> },
  ): ControllerSandbox {
    const limits = { ...DEFAULT_SANDBOX_LIMITS, ...options.limits };
    const isolate = new ivm.Isolate({ memoryLimit: Math.max(8, limits.memoryLimitMb) });
    try {
      return new ControllerSandbox(isolate, code, layout, options.dtSec, options.maxSteps, limits);
    } catch (error) {
      if (!isolate.isDisposed) isolate.dispose();
      if (error instanceof ControllerLoadError) throw error;
      throw new ControllerLoadError(`the controller could not be loaded: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  private constructor(
    isolate: ivm.Isolate,
    code: string,
    layout: ObservationLayout,
    dtSec: number,
    maxSteps: number,
    limits: SandboxLimits,
  ) {
    this.isolate = isolate;
    this.layout = layout;
    this.limits = limits;
    this.context = isolate.createContextSync();
    this.context.evalSync(HELPERS_SOURCE + DETERMINISM_SOURCE, { timeout: limits.loadTimeoutMs });
    let module: ivm.Module;
    try {
      module = isolate.compileModuleSync(code, { filename: 'file:///controller.js' });
    } catch (error) {
      throw new ControllerLoadError(`the controller does not compile: ${messageOf(error)}`, { cause: error });
    }
    module.instantiateSync(this.context, (specifier: string) => {
      throw new ControllerLoadError(
        `the controller imports '${specifier}', but controllers cannot import anything: only the helpers vec, clamp and towards are available`,
      );
    });
    try {
      module.evaluateSync({ timeout: limits.loadTimeoutMs });
    } catch (error) {
      throw new ControllerLoadError(`the controller failed while loading: ${messageOf(error)}`, {
        cause: error,
      });
    }
    const act = module.namespace.getSync('act', { reference: true }) as ivm.Reference<unknown> | undefined;
    if (act?.typeof !== 'function') {
      throw new ControllerLoadError('the controller module must export a function act(obs, ctx)');
    }
    this.context.global.setSync('__act', act.derefInto());
    const install = this.context.evalSync(RUNNER_SOURCE, { reference: true }) as ivm.Reference<
      (...args: unknown[]) => void
    >;
    install.applySync(
      undefined,
      [
        layout.fields.map((f) => ({ name: f.name, offset: f.offset, size: f.size })),
        layout.observationSize,
        layout.goalSize,
        layout.actionSize,
        dtSec,
        maxSteps,
      ],
      { arguments: { copy: true } },
    );
    const runner = this.context.global.getSync('__armprior', { reference: true }) as ivm.Reference<
      Record<string, unknown>
    >;
    this.stepRef = runner.getSync('step', { reference: true }) as ivm.Reference<
      (values: number[], step: number) => unknown
    >;
    this.startRef = runner.getSync('start', { reference: true }) as ivm.Reference<() => void>;
    this.memoryKeptRef = runner.getSync('memoryKept', { reference: true }) as ivm.Reference<() => boolean>;
    this.values = new Array(layout.observationSize + 2 * layout.goalSize).fill(0);
  }

  /** Starts an episode: `ctx.memory` becomes a fresh empty object. */
  startEpisode(): void {
    if (this.isolate.isDisposed) return;
    this.startRef.applySync(undefined, [], { timeout: this.limits.callTimeoutMs });
  }

  /**
   * Whether `act` has ever left something in `ctx.memory` (in any episode): the controller keeps
   * state between steps, so its answer depends on the path, not only on what it sees now. State
   * kept elsewhere (module-level variables, against the contract) is not seen.
   */
  keepsMemory(): boolean {
    if (this.isolate.isDisposed) return false;
    return this.memoryKeptRef.applySync(undefined, [], { timeout: this.limits.callTimeoutMs }) === true;
  }

  /** One call of `act`. Never throws for the controller's faults: they come back as failures. */
  act(
    observation: ArrayLike<number>,
    achievedGoal: ArrayLike<number>,
    desiredGoal: ArrayLike<number>,
    step: number,
  ): ActResult {
    if (this.isolate.isDisposed) {
      return {
        ok: false,
        kind: 'memory',
        message: 'the controller exceeded its memory limit earlier',
        fatal: true,
      };
    }
    const { observationSize, goalSize, actionSize } = this.layout;
    const values = this.values;
    for (let i = 0; i < observationSize; i++) values[i] = observation[i]!;
    for (let i = 0; i < goalSize; i++) {
      values[observationSize + i] = achievedGoal[i]!;
      values[observationSize + goalSize + i] = desiredGoal[i]!;
    }
    let result: unknown;
    try {
      result = this.stepRef.applySync(undefined, [values, step], {
        arguments: { copy: true },
        result: { copy: true },
        timeout: this.limits.callTimeoutMs,
      });
    } catch (error) {
      if (this.isolate.isDisposed) {
        return {
          ok: false,
          kind: 'memory',
          message: `the controller exceeded its ${this.limits.memoryLimitMb} MiB memory limit`,
          fatal: true,
        };
      }
      const message = messageOf(error);
      if (/timed out/i.test(message)) {
        return {
          ok: false,
          kind: 'timeout',
          message: `act() ran longer than ${this.limits.callTimeoutMs} ms`,
          fatal: false,
        };
      }
      return { ok: false, kind: 'threw', message, fatal: false };
    }
    if (Array.isArray(result) && result.length === actionSize && result.every((v) => Number.isFinite(v))) {
      return { ok: true, action: Float64Array.from(result as number[]) };
    }
    const failure = result as { error?: ActFailureKind; message?: string } | null;
    return {
      ok: false,
      kind: failure?.error === 'threw' ? 'threw' : 'bad-output',
      message: failure?.message ?? 'act() returned something that is not an action',
      fatal: false,
    };
  }

  /** Frees the isolate. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}
