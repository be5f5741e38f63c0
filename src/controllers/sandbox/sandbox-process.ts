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
  FrameReader,
  frame,
  type LoadRequest,
  MAX_REQUEST_BYTES,
  Reply,
  Request,
} from './protocol.js';

const STDIN = 0;
const replies = openSync(process.argv.at(-1)!, 'w');
const chunk = Buffer.alloc(64 * 1024);
const requests = new FrameReader(MAX_REQUEST_BYTES);

/**
 * The next requests from stdin: one blocking read, usually one whole request (the host writes
 * each in one go); an empty list once stdin has ended (the host is gone).
 */
function nextRequests(): Buffer[] | undefined {
  for (;;) {
    let n: number;
    try {
      n = readSync(STDIN, chunk, 0, chunk.length, null);
    } catch (error) {
      // A pipe opened non-blocking by someone else: wait a little instead of spinning.
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      throw error;
    }
    if (n === 0) return undefined;
    const frames = requests.push(Buffer.from(chunk.subarray(0, n)));
    if (frames.length > 0) return frames;
  }
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
    const received = nextRequests();
    if (received === undefined) return;
    for (const payload of received) {
      const kind = payload[0];
      if (kind === Request.load && controller === undefined) {
        const request = JSON.parse(payload.toString('utf8', 1)) as LoadRequest;
        try {
          controller = new IsolateController(request);
          values = new Array(request.observationSize + 2 * request.goalSize).fill(0);
          send(encodeLoaded(undefined));
        } catch (error) {
          send(encodeLoaded(boundText(messageOf(error))));
        }
      } else if (kind === Request.act && controller !== undefined) {
        const { step, newEpisode } = decodeAct(payload, values);
        const result = controller.act(values, step, newEpisode);
        send(encodeActed({ ...result, memoryKept: controller.keepsMemory() }));
      } else {
        throw new Error(`unexpected request ${kind}`);
      }
    }
  }
}

serve();
process.exit(0);
