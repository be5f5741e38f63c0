/**
 * The wire between the host and its sandbox process: length-prefixed frames over the child's
 * stdin/stdout pipes. Hand-written because it is tiny and on the hot path: an `act` request is
 * a fixed header and the observation as float64, so no JSON is built or parsed per step (the
 * whole round trip is measured by `armprior bench sandbox`).
 *
 * Frame: u32 LE payload length, then the payload; the payload's first byte is its kind.
 */
import type { ActFailureKind } from './types.js';

/** Payload kinds, host → sandbox. */
export const Request = { load: 1, act: 2 } as const;
/** Payload kinds, sandbox → host. */
export const Reply = { ready: 0x80, loaded: 0x81, acted: 0x82 } as const;

/** Largest frame the host sends (the load frame carries the controller's code). */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/** Largest frame the sandbox may send: its answers are an action or one bounded message. */
export const MAX_REPLY_BYTES = 64 * 1024;

/** What the load request carries (JSON). */
export interface LoadRequest {
  code: string;
  fields: { name: string; offset: number; size: number }[];
  observationSize: number;
  goalSize: number;
  actionSize: number;
  dtSec: number;
  maxSteps: number;
  memoryLimitMb: number;
  loadTimeoutMs: number;
  callTimeoutMs: number;
}

/** Status byte of an act reply: 0 = an action follows, else the failure's kind and a message. */
const STATUS: readonly ('ok' | ActFailureKind)[] = ['ok', 'threw', 'timeout', 'bad-output', 'memory'];

/** Act request: kind, flags (bit 0: a new episode starts), step (u32), then the values (f64). */
const ACT_HEADER_BYTES = 1 + 1 + 4;
/** Act reply: kind, status, memory kept (0/1), then an action (f64) or a UTF-8 message. */
const ACTED_HEADER_BYTES = 3;

export function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32LE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

export function encodeLoad(request: LoadRequest): Buffer {
  return frame(Buffer.concat([Buffer.of(Request.load), Buffer.from(JSON.stringify(request), 'utf8')]));
}

/** Writes an act request frame for `values` into `out` (sized by {@link actFrameBytes}). */
export function encodeAct(out: Buffer, values: ArrayLike<number>, step: number, newEpisode: boolean): Buffer {
  out.writeUInt32LE(ACT_HEADER_BYTES + 8 * values.length, 0);
  out[4] = Request.act;
  out[5] = newEpisode ? 1 : 0;
  out.writeUInt32LE(step >>> 0, 6);
  for (let i = 0; i < values.length; i++) out.writeDoubleLE(values[i]!, 4 + ACT_HEADER_BYTES + 8 * i);
  return out;
}

export function actFrameBytes(valueCount: number): number {
  return 4 + ACT_HEADER_BYTES + 8 * valueCount;
}

export function decodeAct(payload: Buffer, values: number[]): { step: number; newEpisode: boolean } {
  for (let i = 0; i < values.length; i++) values[i] = payload.readDoubleLE(ACT_HEADER_BYTES + 8 * i);
  return { newEpisode: (payload[1]! & 1) === 1, step: payload.readUInt32LE(2) };
}

export type ActedReply =
  | { ok: true; action: Float64Array; memoryKept: boolean }
  | { ok: false; kind: ActFailureKind; message: string; memoryKept: boolean };

export function encodeActed(reply: ActedReply): Buffer {
  if (reply.ok) {
    const out = Buffer.allocUnsafe(4 + ACTED_HEADER_BYTES + 8 * reply.action.length);
    out.writeUInt32LE(out.length - 4, 0);
    out[4] = Reply.acted;
    out[5] = 0;
    out[6] = reply.memoryKept ? 1 : 0;
    for (let i = 0; i < reply.action.length; i++)
      out.writeDoubleLE(reply.action[i]!, 4 + ACTED_HEADER_BYTES + 8 * i);
    return out;
  }
  const header = Buffer.of(Reply.acted, STATUS.indexOf(reply.kind), reply.memoryKept ? 1 : 0);
  return frame(Buffer.concat([header, Buffer.from(reply.message, 'utf8')]));
}

export function decodeActed(payload: Buffer): ActedReply | undefined {
  const status = STATUS[payload[1] ?? -1];
  const memoryKept = payload[2] === 1;
  if (status === undefined || payload.length < ACTED_HEADER_BYTES) return undefined;
  if (status === 'ok') {
    if ((payload.length - ACTED_HEADER_BYTES) % 8 !== 0) return undefined;
    const action = new Float64Array((payload.length - ACTED_HEADER_BYTES) / 8);
    for (let i = 0; i < action.length; i++) action[i] = payload.readDoubleLE(ACTED_HEADER_BYTES + 8 * i);
    return { ok: true, action, memoryKept };
  }
  return { ok: false, kind: status, message: payload.toString('utf8', ACTED_HEADER_BYTES), memoryKept };
}

/** Loaded reply: kind, 1 = loaded or 0 = refused, then the refusal's message (UTF-8). */
export function encodeLoaded(error: string | undefined): Buffer {
  return frame(
    Buffer.concat([Buffer.of(Reply.loaded, error === undefined ? 1 : 0), Buffer.from(error ?? '', 'utf8')]),
  );
}

export function decodeLoaded(payload: Buffer): { ok: true } | { ok: false; message: string } {
  return payload[1] === 1 ? { ok: true } : { ok: false, message: payload.toString('utf8', 2) };
}

/**
 * Cuts a byte stream into frames. A frame longer than `maxBytes` is a protocol violation (the
 * other side is broken or hostile): {@link FrameReader.push} throws and the caller ends it.
 */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  constructor(private readonly maxBytes: number) {}

  /** Adds received bytes; returns the payloads completed by them, in order. */
  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const payloads: Buffer[] = [];
    for (;;) {
      if (this.buffer.length < 4) break;
      const length = this.buffer.readUInt32LE(0);
      if (length > this.maxBytes) throw new Error(`a frame of ${length} bytes (at most ${this.maxBytes})`);
      if (this.buffer.length < 4 + length) break;
      payloads.push(this.buffer.subarray(4, 4 + length));
      this.buffer = this.buffer.subarray(4 + length);
    }
    return payloads;
  }
}
