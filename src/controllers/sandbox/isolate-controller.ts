/**
 * The controller inside the sandbox process: its module in a V8 isolate (isolated-vm), with no
 * `require`, `process`, files, network or host objects (only copies of numbers cross), no clock
 * and no entropy. Runs only in the sandbox process (./sandbox-process.ts); the host talks to it
 * through ./controller-sandbox.ts. `node:vm` would not do: it is not a security boundary
 * (shared/DESIGN.md).
 */
import ivm from 'isolated-vm';
import { HELPERS_SOURCE } from '../../contract/controller-contract.js';
import { boundText } from '../../core/bounded-text.js';
import { messageOf } from '../../core/errors.js';
import type { LoadRequest } from './protocol.js';
import type { ActFailureKind } from './types.js';

/**
 * Runs the in-isolate side of a call: builds the named observation from a flat array, calls the
 * controller's `act`, checks what it returned. Messages are cut inside the isolate, so an 8 MiB
 * error string is never copied out of it.
 */
const RUNNER_SOURCE = `
(function install(fields, observationSize, goalSize, actionSize, dt, maxSteps, maxMessage) {
  let memory = {};
  let memoryKept = false;
  const cut = (s) => (s.length > maxMessage ? s.slice(0, maxMessage) + ' … [' + (s.length - maxMessage) + ' more characters cut]' : s);
  const describe = (v) => (Array.isArray(v) ? 'an array of ' + v.length : v === null ? 'null' : typeof v);
  globalThis.__armprior = Object.freeze({
    step(values, step, newEpisode) {
      if (newEpisode) memory = {};
      const obs = {};
      for (const f of fields) obs[f.name] = f.size === 1 ? values[f.offset] : values.slice(f.offset, f.offset + f.size);
      obs.achievedGoal = values.slice(observationSize, observationSize + goalSize);
      obs.desiredGoal = values.slice(observationSize + goalSize, observationSize + 2 * goalSize);
      let out;
      try {
        out = __act(obs, { step, dt, maxSteps, memory });
        if (!memoryKept) for (const _ in memory) { memoryKept = true; break; }
      } catch (error) {
        let text;
        try {
          text = error && typeof error.stack === 'string' ? error.stack.split('\\n', 3).join(' | ') : String(error);
        } catch {
          text = 'an exception that cannot be shown as text';
        }
        return { error: 'threw', message: cut(text), memoryKept };
      }
      if (out === null || typeof out !== 'object' || typeof out.length !== 'number') {
        return { error: 'bad-output', message: 'act() must return an array of ' + actionSize + ' numbers, got ' + describe(out), memoryKept };
      }
      if (out.length !== actionSize) {
        return { error: 'bad-output', message: 'act() must return ' + actionSize + ' numbers, got ' + cut(String(out.length)), memoryKept };
      }
      const action = [];
      for (let i = 0; i < actionSize; i++) {
        const v = out[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          return { error: 'bad-output', message: 'act() returned ' + cut(String(v)) + ' at index ' + i + '; every value must be a finite number', memoryKept };
        }
        action.push(v);
      }
      action.push(memoryKept ? 1 : 0); // read by the host with the action: no second call
      return action;
    },
  });
})`;

/**
 * Makes the sandbox deterministic: controllers get no entropy and no clock. `Date` keeps working
 * on given times (`new Date(0)`, `Date.UTC`), but "now" in any form — `Date.now()`, `new Date()`,
 * `Date()`, `Intl.DateTimeFormat().format()` — throws.
 */
const DETERMINISM_SOURCE = `
(() => {
  const noClock = (what) => { throw new Error(what + ' is not available to controllers: use ctx.step and ctx.dt'); };
  Math.random = function random() { throw new Error('Math.random is not available to controllers: they must be deterministic'); };
  const RealDate = globalThis.Date;
  const ClocklessDate = function Date(...args) {
    if (!new.target) noClock('Date()');
    if (args.length === 0) noClock('new Date()');
    return Reflect.construct(RealDate, args, new.target);
  };
  Object.setPrototypeOf(ClocklessDate, RealDate);
  ClocklessDate.prototype = RealDate.prototype;
  Object.defineProperty(RealDate.prototype, 'constructor', { value: ClocklessDate });
  ClocklessDate.now = function now() { noClock('Date.now'); };
  globalThis.Date = ClocklessDate;
  // Formatting without a date formats "now".
  const proto = Intl.DateTimeFormat.prototype;
  const format = Object.getOwnPropertyDescriptor(proto, 'format');
  Object.defineProperty(proto, 'format', {
    get() {
      const bound = format.get.call(this);
      return (date) => (date === undefined ? noClock('Intl.DateTimeFormat().format()') : bound(date));
    },
  });
  const formatToParts = proto.formatToParts;
  proto.formatToParts = function (date) {
    if (date === undefined) noClock('Intl.DateTimeFormat().formatToParts()');
    return formatToParts.call(this, date);
  };
})();
`;

/** The longest message the sandbox sends about one failure (characters). */
const MAX_MESSAGE_CHARS = 1000;

/** What one call came to, as the sandbox process sends it on. */
export type IsolateActResult =
  | { ok: true; action: Float64Array }
  | { ok: false; kind: ActFailureKind; message: string };

/** A controller module loaded into a fresh isolate. */
export class IsolateController {
  private readonly isolate: ivm.Isolate;
  private readonly stepRef: ivm.Reference<(values: number[], step: number, newEpisode: boolean) => unknown>;
  private readonly request: LoadRequest;
  private memoryKept = false;

  /** Loads the module; throws an Error whose message says why the code cannot be a controller. */
  constructor(request: LoadRequest) {
    this.request = request;
    this.isolate = new ivm.Isolate({ memoryLimit: Math.max(8, request.memoryLimitMb) });
    const context = this.isolate.createContextSync();
    context.evalSync(HELPERS_SOURCE + DETERMINISM_SOURCE, { timeout: request.loadTimeoutMs });
    let module: ivm.Module;
    try {
      module = this.isolate.compileModuleSync(request.code, { filename: 'file:///controller.js' });
    } catch (error) {
      throw new Error(`the controller does not compile: ${bounded(error)}`);
    }
    module.instantiateSync(context, (specifier: string) => {
      throw new Error(
        `the controller imports '${boundText(specifier, 200)}', but controllers cannot import anything: only the helpers vec, clamp and towards are available`,
      );
    });
    try {
      module.evaluateSync({ timeout: request.loadTimeoutMs });
    } catch (error) {
      throw new Error(`the controller failed while loading: ${bounded(error)}`);
    }
    const act = module.namespace.getSync('act', { reference: true }) as ivm.Reference<unknown> | undefined;
    if (act?.typeof !== 'function')
      throw new Error('the controller module must export a function act(obs, ctx)');
    context.global.setSync('__act', act.derefInto());
    const install = context.evalSync(RUNNER_SOURCE, { reference: true }) as ivm.Reference<
      (...args: unknown[]) => void
    >;
    install.applySync(
      undefined,
      [
        request.fields,
        request.observationSize,
        request.goalSize,
        request.actionSize,
        request.dtSec,
        request.maxSteps,
        MAX_MESSAGE_CHARS,
      ],
      { arguments: { copy: true } },
    );
    const runner = context.global.getSync('__armprior', { reference: true }) as ivm.Reference<
      Record<string, unknown>
    >;
    this.stepRef = runner.getSync('step', { reference: true }) as IsolateController['stepRef'];
  }

  /** Whether `act` has ever left something in `ctx.memory` (sticky, over all episodes). */
  keepsMemory(): boolean {
    return this.memoryKept;
  }

  /** Whether the isolate is gone (its heap limit): every later call fails. */
  get disposed(): boolean {
    return this.isolate.isDisposed;
  }

  /** One call of `act` on `values` (observation, achieved goal, desired goal). Never throws. */
  act(values: number[], step: number, newEpisode: boolean): IsolateActResult {
    if (this.isolate.isDisposed) {
      return { ok: false, kind: 'memory', message: 'the controller exceeded its memory limit earlier' };
    }
    let result: unknown;
    try {
      result = this.stepRef.applySync(undefined, [values, step, newEpisode], {
        arguments: { copy: true },
        result: { copy: true },
        timeout: this.request.callTimeoutMs,
      });
    } catch (error) {
      if (this.isolate.isDisposed) {
        return {
          ok: false,
          kind: 'memory',
          message: `the controller exceeded its ${this.request.memoryLimitMb} MiB memory limit`,
        };
      }
      const message = bounded(error);
      if (/timed out/i.test(message)) {
        return {
          ok: false,
          kind: 'timeout',
          message: `act() ran longer than ${this.request.callTimeoutMs} ms`,
        };
      }
      return { ok: false, kind: 'threw', message };
    }
    const { actionSize } = this.request;
    if (
      Array.isArray(result) &&
      result.length === actionSize + 1 &&
      result.every((v) => Number.isFinite(v))
    ) {
      this.memoryKept ||= result[actionSize] === 1;
      return { ok: true, action: Float64Array.from((result as number[]).slice(0, actionSize)) };
    }
    const failure = result as { error?: ActFailureKind; message?: unknown; memoryKept?: unknown } | null;
    this.memoryKept ||= failure?.memoryKept === true;
    return {
      ok: false,
      kind: failure?.error === 'threw' ? 'threw' : 'bad-output',
      message:
        typeof failure?.message === 'string'
          ? boundText(failure.message, MAX_MESSAGE_CHARS + 100)
          : 'act() returned something that is not an action',
    };
  }
}

function bounded(error: unknown): string {
  return boundText(messageOf(error), MAX_MESSAGE_CHARS);
}
