/**
 * Entry point of a sandbox process (started by ./sandbox-launch.ts, never imported): one
 * controller in its isolate, behind OS limits the host set before this process started. It reads
 * requests from stdin with blocking reads (no event loop: nothing runs between calls) and writes
 * each answer to the FIFO named by its last argument (./reply-pipe.ts). When the host goes away,
 * stdin ends and so does this process.
 */
import { openSync, readSync, writeSync } from 'node:fs';
import { boundText } from '../../core/bounded-text.js';
import { messageOf } from '../../core/errors.js';
import { IsolateController } from './isolate-controller.js';
import {
  decodeAct,
  encodeActed,
  encodeLoaded,
  frame,
  type LoadRequest,
  MAX_REQUEST_BYTES,
  Reply,
  Request,
} from './protocol.js';

const STDIN = 0;
const replies = openSync(process.argv.at(-1)!, 'w');
const header = Buffer.alloc(4);
let payload = Buffer.alloc(64 * 1024);

/** Fills `buffer[0, length)` from stdin; false when stdin ended first. */
function readFully(buffer: Buffer, length: number): boolean {
  let got = 0;
  while (got < length) {
    let n: number;
    try {
      n = readSync(STDIN, buffer, got, length - got, null);
    } catch (error) {
      // A pipe opened non-blocking by someone else: wait a little instead of spinning.
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      throw error;
    }
    if (n === 0) return false;
    got += n;
  }
  return true;
}

function send(bytes: Buffer): void {
  let sent = 0;
  while (sent < bytes.length) sent += writeSync(replies, bytes, sent, bytes.length - sent);
}

function serve(): void {
  let controller: IsolateController | undefined;
  let values: number[] = [];
  send(frame(Buffer.of(Reply.ready)));
  for (;;) {
    if (!readFully(header, 4)) return;
    const length = header.readUInt32LE(0);
    if (length > MAX_REQUEST_BYTES) throw new Error(`a request of ${length} bytes`);
    if (payload.length < length) payload = Buffer.alloc(length);
    if (!readFully(payload, length)) return;
    const kind = payload[0];
    if (kind === Request.load && controller === undefined) {
      const request = JSON.parse(payload.toString('utf8', 1, length)) as LoadRequest;
      try {
        controller = new IsolateController(request);
        values = new Array(request.observationSize + 2 * request.goalSize).fill(0);
        send(encodeLoaded(undefined));
      } catch (error) {
        send(encodeLoaded(boundText(messageOf(error))));
      }
    } else if (kind === Request.act && controller !== undefined) {
      const { step, newEpisode } = decodeAct(payload.subarray(0, length), values);
      const result = controller.act(values, step, newEpisode);
      send(encodeActed({ ...result, memoryKept: controller.keepsMemory() }));
    } else {
      throw new Error(`unexpected request ${kind}`);
    }
  }
}

serve();
process.exit(0);
