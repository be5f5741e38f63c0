/**
 * The sandbox's answers, read by the host from a FIFO it owns. Most answers come within tens of
 * microseconds, so the host first reads in a short synchronous spin, which skips the event loop's
 * sleep and wake-up (the larger part of a round trip); an answer that takes longer is waited for
 * on the event loop, so the host never blocks for more than the spin. Node has no pipe(2) whose
 * end it can read both ways; a FIFO opened by path is an fd of ours, readable with `readSync`
 * and, through a `net.Socket`, by the event loop.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameReader } from './protocol.js';

/** How long one read spins synchronously before it waits on the event loop (ns). */
const SPIN_NS = 300_000n;

/** What a read ends with: a frame, or why none will come. */
export interface ReplyHandlers {
  frame(payload: Buffer): void;
  /** The writer closed: the sandbox process ended (its exit tells how). */
  ended(): void;
  /** The writer broke the framing (a frame over the bound, one nobody asked for). */
  broken(reason: string): void;
}

export class ReplyPipe {
  /** Where the sandbox opens the pipe for writing; gone once {@link ReplyPipe.writerConnected}. */
  readonly path: string;
  private readonly dir: string;
  private readonly fd: number;
  /** Our own writer, held until the sandbox's is open, so the pipe does not read as ended before. */
  private placeholderWriter: number | undefined;
  private readonly socket: Socket;
  private readonly reader: FrameReader;
  private readonly chunk = Buffer.alloc(64 * 1024);
  private handlers: ReplyHandlers | undefined;
  private closed = false;

  constructor(maxFrameBytes: number) {
    this.reader = new FrameReader(maxFrameBytes);
    this.dir = mkdtempSync(join(tmpdir(), 'armprior-sandbox-'));
    this.path = join(this.dir, 'replies');
    execFileSync('mkfifo', ['-m', '600', this.path]);
    // Non-blocking, so opening does not wait for a writer and a read never blocks the host.
    this.fd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    this.placeholderWriter = openSync(this.path, constants.O_WRONLY | constants.O_NONBLOCK);
    this.socket = new Socket({ fd: this.fd, readable: true, writable: false });
    this.socket.pause();
    this.socket.unref();
    this.socket.on('data', (data: Buffer) => this.deliver(data));
    this.socket.on('end', () => {
      const handlers = this.handlers;
      this.cancel();
      handlers?.ended();
    });
    this.socket.on('error', (error) => this.fail(error.message));
  }

  /**
   * The sandbox has opened the pipe (its first frame came): from now on an end of the pipe
   * means the process is gone. Nothing is left on disk.
   */
  writerConnected(): void {
    if (this.placeholderWriter !== undefined) closeSync(this.placeholderWriter);
    this.placeholderWriter = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Reads the next frame: synchronously for up to the spin, then on the event loop. Calls one of
   * `handlers` once (possibly before this returns).
   */
  read(handlers: ReplyHandlers): void {
    this.handlers = handlers;
    const until = process.hrtime.bigint() + SPIN_NS;
    while (this.handlers !== undefined) {
      let n: number;
      try {
        n = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN' && process.hrtime.bigint() < until) continue;
        break;
      }
      if (n === 0) break; // ended: the socket will say so
      this.deliver(Buffer.from(this.chunk.subarray(0, n)));
    }
    if (this.handlers !== undefined) {
      this.socket.ref(); // a call in flight keeps the host alive until it settles
      this.socket.resume();
    }
  }

  /** Stops waiting for the frame asked for (the call was given up). */
  cancel(): void {
    this.handlers = undefined;
    this.socket.pause();
    this.socket.unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancel();
    this.socket.destroy(); // closes our read end
    if (this.placeholderWriter !== undefined) closeSync(this.placeholderWriter);
    this.placeholderWriter = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private deliver(data: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.reader.push(data);
    } catch (error) {
      this.fail(`the sandbox process broke the protocol (${(error as Error).message})`);
      return;
    }
    for (const frame of frames) {
      const handlers = this.handlers;
      if (handlers === undefined) {
        this.fail('the sandbox process spoke out of turn');
        return;
      }
      this.cancel();
      handlers.frame(frame);
    }
  }

  private fail(reason: string): void {
    const handlers = this.handlers;
    this.cancel();
    handlers?.broken(reason);
  }
}
