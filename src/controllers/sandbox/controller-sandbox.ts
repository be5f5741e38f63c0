/**
 * The host's handle on one controller: a sandbox process (./sandbox-process.ts) holding the
 * controller's isolate, behind OS limits (issue #17). isolated-vm alone shared the host's process,
 * and its heap limit is not a hard limit: one `new Array(1e8)` in controller code aborted the
 * host — the process that drives the robot — and a long built-in call froze it. Here the isolate
 * lives in its own process, started with RLIMIT_DATA, so what escapes the isolate's limit fails
 * inside it or ends that process, never the host; and the host never waits on it: every call has
 * a deadline after which the process is killed.
 */
import type { ObservationLayout } from '../../contract/controller-contract.js';
import { boundText } from '../../core/bounded-text.js';
import {
  actFrameBytes,
  decodeActed,
  decodeLoaded,
  encodeAct,
  encodeLoad,
  MAX_REPLY_BYTES,
  Reply,
} from './protocol.js';
import { ReplyPipe } from './reply-pipe.js';
import { launchSandbox, type SandboxChild } from './sandbox-launch.js';
import {
  type ActFailureKind,
  type ActResult,
  ControllerLoadError,
  DEFAULT_SANDBOX_LIMITS,
  killDeadlineMs,
  type SandboxLimits,
  SandboxStartError,
} from './types.js';

/** How long a new sandbox process may take to start (a loaded machine can be slow to start Node). */
const START_TIMEOUT_MS = 30_000;
/** The end of the sandbox's stderr kept to explain how it died (V8's "heap out of memory"). */
const STDERR_TAIL_BYTES = 4096;

export interface SandboxOptions {
  dtSec: number;
  maxSteps: number;
  limits?: Partial<SandboxLimits>;
}

/** What a call is: its deadline and how a failure to answer is reported. */
type CallKind = 'start' | 'load' | 'act';

/**
 * A controller module running in its own sandbox process. {@link ControllerSandbox.act} never
 * throws for the controller's faults: they come back as failures, `fatal` when the process is
 * gone (memory, a crash, a call killed at its deadline); a new sandbox is then needed.
 */
export class ControllerSandbox {
  readonly layout: ObservationLayout;
  readonly limits: SandboxLimits;
  private readonly child: SandboxChild;
  private readonly replies = new ReplyPipe(MAX_REPLY_BYTES);
  /** The act request frame and the values it carries, reused call after call. */
  private readonly request: Buffer;
  private readonly values: Float64Array;
  /** Fails the call in flight, if any: the process died or was killed meanwhile. */
  private failPending: ((kind: ActFailureKind, message: string) => void) | undefined;
  private stderrTail = Buffer.alloc(0);
  /** Why the process is gone, once it is. */
  private ended: { kind: ActFailureKind; message: string } | undefined;
  private memoryKept = false;

  /**
   * Starts a sandbox process and loads `code` (an ES module exporting `act`) into it. Throws
   * {@link ControllerLoadError} naming the problem when it does not compile, imports a module,
   * throws, runs too long or runs out of memory at load, or exports no function `act`; and
   * {@link SandboxStartError} when no sandbox process could be started.
   */
  static async create(
    code: string,
    layout: ObservationLayout,
    options: SandboxOptions,
  ): Promise<ControllerSandbox> {
    const limits = { ...DEFAULT_SANDBOX_LIMITS, ...options.limits };
    const sandbox = new ControllerSandbox(layout, limits);
    try {
      const ready = await sandbox.call(undefined, START_TIMEOUT_MS, 'start');
      if (ready[0] !== Reply.ready) throw new SandboxStartError('the sandbox process answered out of turn');
      sandbox.replies.writerConnected();
      const request = encodeLoad({
        code,
        fields: layout.fields.map((f) => ({ name: f.name, offset: f.offset, size: f.size })),
        observationSize: layout.observationSize,
        goalSize: layout.goalSize,
        actionSize: layout.actionSize,
        dtSec: options.dtSec,
        maxSteps: options.maxSteps,
        memoryLimitMb: limits.memoryLimitMb,
        loadTimeoutMs: limits.loadTimeoutMs,
        callTimeoutMs: limits.callTimeoutMs,
      });
      const loaded = decodeLoaded(await sandbox.call(request, killDeadlineMs(limits.loadTimeoutMs), 'load'));
      if (!loaded.ok) throw new ControllerLoadError(loaded.message);
      return sandbox;
    } catch (error) {
      sandbox.dispose();
      throw error;
    }
  }

  private constructor(layout: ObservationLayout, limits: SandboxLimits) {
    this.layout = layout;
    this.limits = limits;
    this.values = new Float64Array(layout.observationSize + 2 * layout.goalSize);
    this.request = Buffer.alloc(actFrameBytes(this.values.length));
    this.child = launchSandbox(limits.processMemoryLimitMb, this.replies.path);
    this.child.stderr.on('data', (chunk: Buffer) => {
      const joined = Buffer.concat([this.stderrTail, chunk]);
      this.stderrTail = joined.subarray(Math.max(0, joined.length - STDERR_TAIL_BYTES));
    });
    // A write to a process that just died: its exit explains it.
    this.child.stdin.on('error', () => {});
    this.child.on('error', (error) =>
      this.end('crashed', `the sandbox process could not be started: ${error.message}`),
    );
    this.child.on('close', (code, signal) => this.onExit(code, signal));
    // Idle sandboxes never keep the host alive; a call in flight does (its timer, its read).
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stderr]) {
      (stream as unknown as { unref?: () => void }).unref?.();
    }
  }

  /** Whether `act` has ever left something in `ctx.memory` (sticky; see the contract). */
  keepsMemory(): boolean {
    return this.memoryKept;
  }

  /** The sandbox process's id (tests, diagnostics). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the sandbox process is still there to answer. */
  get alive(): boolean {
    return this.ended === undefined;
  }

  /**
   * One call of `act`. `newEpisode` gives the controller a fresh `ctx.memory`. Resolves within
   * the call's deadline ({@link killDeadlineMs} of `callTimeoutMs`), or as soon as `signal`
   * aborts (the call is then abandoned and the process killed: it cannot be interrupted safely
   * otherwise). Never rejects for the controller's faults.
   */
  async act(
    observation: ArrayLike<number>,
    achievedGoal: ArrayLike<number>,
    desiredGoal: ArrayLike<number>,
    step: number,
    newEpisode: boolean,
    signal?: AbortSignal,
  ): Promise<ActResult> {
    if (this.ended) {
      const message = `the controller's sandbox has stopped: ${this.ended.message}`;
      return { ok: false, kind: this.ended.kind, message, fatal: true };
    }
    const { observationSize, goalSize } = this.layout;
    const values = this.values;
    for (let i = 0; i < observationSize; i++) values[i] = observation[i]!;
    for (let i = 0; i < goalSize; i++) {
      values[observationSize + i] = achievedGoal[i]!;
      values[observationSize + goalSize + i] = desiredGoal[i]!;
    }
    encodeAct(this.request, values, step, newEpisode);
    let payload: Buffer;
    try {
      payload = await this.call(this.request, killDeadlineMs(this.limits.callTimeoutMs), 'act', signal);
    } catch (error) {
      if (error instanceof SandboxEnded)
        return { ok: false, kind: error.kind, message: error.message, fatal: true };
      throw error;
    }
    const reply = payload[0] === Reply.acted ? decodeActed(payload) : undefined;
    if (reply === undefined || (reply.ok && reply.action.length !== this.layout.actionSize)) {
      const message = 'the sandbox process sent a malformed answer';
      this.kill('crashed', message);
      return { ok: false, kind: 'crashed', message, fatal: true };
    }
    this.memoryKept ||= reply.memoryKept;
    if (reply.ok) return { ok: true, action: reply.action };
    const message = boundText(reply.message);
    if (reply.kind === 'memory') {
      this.kill('memory', message); // the isolate is gone: free its process at once
      return { ok: false, kind: 'memory', message, fatal: true };
    }
    return { ok: false, kind: reply.kind, message, fatal: false };
  }

  /** Kills the sandbox process. Safe to call twice. */
  dispose(): void {
    this.kill('crashed', 'the sandbox was closed');
    this.replies.close();
  }

  /**
   * Sends `request` (or nothing: waits for the first frame) and resolves with the next frame.
   * Past `deadlineMs`, or when `signal` aborts, the process is killed and the call rejects
   * ({@link SandboxEnded} for an act, the creation's errors for the others); also when the
   * process dies meanwhile. One call at a time.
   */
  private call(
    request: Buffer | undefined,
    deadlineMs: number,
    kind: CallKind,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    if (this.ended) return Promise.reject(this.failure(kind, this.ended.kind, this.ended.message));
    if (this.failPending) throw new Error(`ControllerSandbox: a ${kind} call while another is in flight`);
    if (signal?.aborted) {
      this.kill('timeout', abandonedMessage(signal));
      return Promise.reject(this.failure(kind, 'timeout', abandonedMessage(signal)));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const sent = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => this.kill('timeout', abandonedMessage(signal));
      const settle = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.failPending = undefined;
      };
      this.failPending = (failureKind, message) => {
        settle();
        this.replies.cancel();
        reject(this.failure(kind, failureKind, message));
      };
      if (request) this.child.stdin.write(request);
      this.replies.read({
        frame: (payload) => {
          // A starved host can read the loaded frame before its overdue kill timer fires (libuv
          // polls I/O before it runs timers again): a load is held to its deadline all the same.
          if (kind === 'load' && performance.now() - sent > deadlineMs) {
            this.kill('timeout', this.lateMessage(kind, deadlineMs));
            return;
          }
          settle();
          resolve(payload);
        },
        ended: () => {}, // the process's exit fails the call, saying how it ended
        broken: (reason) => this.kill('crashed', reason),
      });
      // Answered within the spin (the usual case): no timer, no listener.
      if (this.failPending === undefined) return;
      timer = setTimeout(
        () => this.kill(kind === 'start' ? 'crashed' : 'timeout', this.lateMessage(kind, deadlineMs)),
        deadlineMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private lateMessage(kind: CallKind, deadlineMs: number): string {
    if (kind === 'act') {
      return `act() did not return within ${deadlineMs} ms (its limit is ${this.limits.callTimeoutMs} ms): its sandbox process was killed`;
    }
    if (kind === 'load')
      return `loading the controller did not finish within ${deadlineMs} ms: its sandbox process was killed`;
    return `the sandbox process did not start within ${deadlineMs / 1000} s`;
  }

  /** The error a call of `kind` rejects with when the process is gone. */
  private failure(kind: CallKind, failureKind: ActFailureKind, message: string): Error {
    if (kind === 'start') return new SandboxStartError(message);
    if (kind === 'load') return new ControllerLoadError(`the controller could not be loaded: ${message}`);
    return new SandboxEnded(failureKind, message);
  }

  /** Records why the process is gone and fails the call in flight, if any. */
  private end(kind: ActFailureKind, message: string): void {
    if (this.ended) return;
    this.ended = { kind, message };
    this.failPending?.(kind, message);
  }

  private kill(kind: ActFailureKind, message: string): void {
    this.end(kind, message);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const stderr = this.stderrTail.toString('utf8');
    if (
      /out of memory|allocation failed|invalid array length/i.test(stderr) ||
      signal === 'SIGABRT' ||
      code === 134
    ) {
      this.end(
        'memory',
        `the controller ran out of memory: its sandbox process ended (${signal ?? `exit code ${code}`}; limits: isolate heap ${this.limits.memoryLimitMb} MiB, process ${this.limits.processMemoryLimitMb} MiB)`,
      );
      return;
    }
    const last = boundText(stderr.trim().split('\n').slice(-3).join(' | '), 500);
    this.end(
      'crashed',
      `the sandbox process ended unexpectedly (${signal ?? `exit code ${code}`})${last ? `: ${last}` : ''}`,
    );
  }
}

function abandonedMessage(signal: AbortSignal | undefined): string {
  return `act() was abandoned (${String(signal?.reason)}): its sandbox process was killed`;
}

/** A call ended because the sandbox process is gone. */
class SandboxEnded extends Error {
  constructor(
    readonly kind: ActFailureKind,
    message: string,
  ) {
    super(message);
  }
}
