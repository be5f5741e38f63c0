/**
 * The host's handle on one controller: a sandbox process (./sandbox-process.ts) holding the
 * controller's isolate, behind OS limits (issue #17). isolated-vm alone shared the host's process,
 * and its heap limit is not a hard limit: one `new Array(1e8)` in controller code aborted the
 * host — the process that drives the robot — and typed arrays and `WebAssembly.Memory` were not
 * counted at all. Here the isolate lives in its own process, started with RLIMIT_DATA, so what
 * escapes the isolate's limit fails inside it or ends that process, never the host; and the host
 * never waits on it: every call has a deadline after which the process is killed.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { boundText } from '../../core/bounded-text.js';
import type { ObservationLayout } from '../contract.js';
import {
  actFrameBytes,
  decodeActed,
  decodeLoaded,
  encodeAct,
  encodeLoad,
  FrameReader,
  MAX_REPLY_BYTES,
  Reply,
} from './protocol.js';
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

type SandboxChild = ChildProcessByStdio<Writable, Readable, Readable>;

/** The call waiting for the sandbox's answer. */
interface Pending {
  resolve: (payload: Buffer) => void;
  /** Ends the call without an answer: the process died, was killed, or the call was abandoned. */
  fail: (kind: ActFailureKind, message: string) => void;
}

export interface SandboxOptions {
  dtSec: number;
  maxSteps: number;
  limits?: Partial<SandboxLimits>;
}

/**
 * A controller module running in its own sandbox process. {@link ControllerSandbox.act} never
 * throws for the controller's faults: they come back as failures, `fatal` when the process is
 * gone (memory, a crash, a call killed at its deadline); a new sandbox is then needed.
 */
export class ControllerSandbox {
  readonly layout: ObservationLayout;
  readonly limits: SandboxLimits;
  private readonly child: SandboxChild;
  private readonly reader = new FrameReader(MAX_REPLY_BYTES);
  /** The act request frame and the values it carries, reused call after call. */
  private readonly request: Buffer;
  private readonly values: Float64Array;
  private pending: Pending | undefined;
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
      await sandbox.call(undefined, START_TIMEOUT_MS, 'start').then((payload) => {
        if (payload[0] !== Reply.ready)
          throw new SandboxStartError('the sandbox process answered out of turn');
      });
      const loaded = decodeLoaded(
        await sandbox.call(
          encodeLoad({
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
          }),
          killDeadlineMs(limits.loadTimeoutMs),
          'load',
        ),
      );
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
    const { args, env } = sandboxEntry();
    // The OS limit is set by the shell that then becomes the sandbox (exec): Node has no
    // setrlimit, and a limit set before the process starts covers everything it allocates.
    // RLIMIT_DATA, not RLIMIT_AS: V8 reserves large address ranges it never touches.
    this.child = spawn(
      '/bin/sh',
      [
        '-c',
        'ulimit -d "$1" && shift && exec "$@"',
        'sh',
        String(limits.processMemoryLimitMb * 1024),
        process.execPath,
        // No V8 background threads: nothing of the controller's can run between calls.
        '--single-threaded',
        // No WebAssembly: controllers have no use for it, and its memories and compiles were
        // the way around the isolate's limits.
        '--no-expose-wasm',
        ...args,
      ],
      // Nothing of the host's environment (API keys among it) is handed to controller code's process.
      { stdio: ['pipe', 'pipe', 'pipe'], env },
    );
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
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
    // Idle sandboxes never keep the host alive; a call in flight does, through its deadline timer.
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) {
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
      return {
        ok: false,
        kind: this.ended.kind,
        message: `the controller's sandbox has stopped: ${this.ended.message}`,
        fatal: true,
      };
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
      this.kill('crashed', 'the sandbox process sent a malformed answer');
      return {
        ok: false,
        kind: 'crashed',
        message: 'the sandbox process sent a malformed answer',
        fatal: true,
      };
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
  }

  /**
   * Sends `request` (or nothing: waits for the first frame) and resolves with the next frame.
   * Past `deadlineMs`, or when `signal` aborts, the process is killed and the call rejects with
   * {@link SandboxEnded}; also when the process dies meanwhile.
   */
  private call(
    request: Buffer | undefined,
    deadlineMs: number,
    what: string,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    if (this.ended) return Promise.reject(new SandboxEnded(this.ended.kind, this.ended.message));
    if (this.pending) throw new Error(`ControllerSandbox: a ${what} call while another is in flight`);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill(
          what === 'start' ? 'crashed' : 'timeout',
          what === 'act'
            ? `act() did not return within ${deadlineMs} ms (its limit is ${this.limits.callTimeoutMs} ms): its sandbox process was killed`
            : what === 'load'
              ? `loading the controller did not finish within ${deadlineMs} ms: its sandbox process was killed`
              : `the sandbox process did not start within ${deadlineMs / 1000} s`,
        );
      }, deadlineMs);
      const onAbort = () =>
        this.kill(
          'timeout',
          `act() was abandoned (${String(signal?.reason)}): its sandbox process was killed`,
        );
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending = undefined;
      };
      this.pending = {
        resolve: (payload) => {
          settle();
          resolve(payload);
        },
        fail: (kind, message) => {
          settle();
          reject(
            what === 'start'
              ? new SandboxStartError(message)
              : what === 'load'
                ? new ControllerLoadError(`the controller could not be loaded: ${message}`)
                : new SandboxEnded(kind, message),
          );
        },
      };
      if (signal?.aborted) onAbort();
      else if (request) this.child.stdin.write(request);
    });
  }

  private onData(chunk: Buffer): void {
    let payloads: Buffer[];
    try {
      payloads = this.reader.push(chunk);
    } catch (error) {
      this.kill('crashed', `the sandbox process broke the protocol (${(error as Error).message})`);
      return;
    }
    for (const payload of payloads) {
      const pending = this.pending;
      if (!pending) {
        this.kill('crashed', 'the sandbox process spoke out of turn');
        return;
      }
      pending.resolve(payload);
    }
  }

  /** Records why the process is gone and fails the call in flight, if any. */
  private end(kind: ActFailureKind, message: string): void {
    if (this.ended) return;
    this.ended = { kind, message };
    this.pending?.fail(kind, message);
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

/** A call ended because the sandbox process is gone. */
class SandboxEnded extends Error {
  constructor(
    readonly kind: ActFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** The bundle of ./sandbox-process.ts made for this process, when running from sources. */
let sourceBundle: { args: string[]; env: Record<string, string> } | undefined;

/**
 * How to start ./sandbox-process: from the build, its `.js`. From sources (vitest, tsx), its
 * `.ts` bundled once per host process with esbuild into a temporary file, isolated-vm left out
 * and found through NODE_PATH: starting every sandbox through tsx's loader took seconds.
 */
function sandboxEntry(): { args: string[]; env: Record<string, string> } {
  if (!import.meta.url.endsWith('.ts')) {
    return { args: [fileURLToPath(new URL('./sandbox-process.js', import.meta.url))], env: {} };
  }
  if (sourceBundle === undefined) {
    const { outputFiles } = buildSync({
      entryPoints: [fileURLToPath(new URL('./sandbox-process.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      external: ['isolated-vm'],
      write: false,
      logLevel: 'silent',
    });
    const dir = mkdtempSync(join(tmpdir(), 'armprior-sandbox-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'sandbox-process.cjs');
    writeFileSync(file, outputFiles[0]!.contents);
    // …/node_modules/isolated-vm/… → …/node_modules
    const isolatedVm = createRequire(import.meta.url).resolve('isolated-vm');
    const nodeModules = isolatedVm.slice(0, isolatedVm.lastIndexOf(`${sep}isolated-vm${sep}`));
    sourceBundle = { args: [file], env: { NODE_PATH: nodeModules } };
  }
  return sourceBundle;
}
