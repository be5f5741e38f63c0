import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join } from 'node:path';
import { ArmpriorError } from '../core/errors.js';
import { INPUT_LIMITS, readInputText } from '../core/input-file.js';
import { packageRoot } from '../core/paths.js';
import { SceneReplaySchema } from '../episodes/scene/scene-replay-format.js';
import type {
  ErrorResponse,
  FeedbackStarted,
  JobResponse,
  QueuedExperimentView,
  QueueResponse,
  ReplaysResponse,
} from './api-types.js';
import { ViewerData } from './data.js';
import { FeedbackJobs, type FeedbackRequest, type FeedbackRunner } from './feedback-jobs.js';
import { isSafeSegment, resolveInside, UnsafePathError } from './safe-path.js';

export type { FeedbackRequest, FeedbackRunner } from './feedback-jobs.js';

/** Renders success-rate curves (mean ± spread over seeds) of run folders as an SVG document. */
export type CurvesSvg = (runDirs: string[]) => Promise<string>;

/** Where GET /api/queue reads from: the queue's URL (credentials hidden) and its experiments, newest first. */
export interface QueueSource {
  url: string;
  experiments: () => Promise<QueuedExperimentView[]>;
}

/** Options of {@link startViewerServer}. */
export interface ViewerServerOptions {
  /** The controller store (layout of src/controllers/store.ts). */
  priorsDir: string;
  /** The folder holding run folders (src/rl/train/run-dir.ts). */
  runsDir: string;
  /** Address to bind; default 127.0.0.1 (the data and the LLM key stay on this machine). */
  host?: string;
  /** Port; 0 (the default) takes a free one. */
  port?: number;
  /** The built page (index.html, app.js); default `dist/viewer` in the package. */
  staticDir?: string;
  curvesSvg: CurvesSvg;
  /** Without one, POST …/feedback answers 503. */
  feedback?: FeedbackRunner;
  /** The job queue's experiments (`view --queue`); without it GET /api/queue says there is none. */
  queue?: QueueSource;
  /** Largest request body accepted (bytes); default 64 KiB. */
  maxBodyBytes?: number;
}

/** A listening viewer server. */
export interface ViewerServer {
  /** `http://<host>:<port>/` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops accepting, drops open connections (keep-alive and polling ones too), resolves when closed. */
  close(): Promise<void>;
}

/** The default static folder: the page `npm run build` writes (scripts/build-viewer.mjs). */
export function defaultStaticDir(): string {
  return join(packageRoot(), 'dist', 'viewer');
}

/** Whether `host` is a loopback address (binding elsewhere exposes the data and the LLM round). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

/** The server cannot start (the port is taken, the address is not this machine's). */
export class ViewerServerError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('view_listen', message, options);
  }
}

/** An answer other than 200, thrown inside a handler and turned into a JSON error. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Starts the viewer's HTTP server (`armprior view`, issue #6): the built page and a JSON API
 * over the controller store, the run folders and their replays. GET and POST only; every path
 * parameter is a plain name checked to stay inside its data root (realpath, so no symlink
 * escape); unknown things are 404, malformed input 400; an error in a handler answers 500 and
 * never stops the server.
 */
export async function startViewerServer(options: ViewerServerOptions): Promise<ViewerServer> {
  const data = new ViewerData(options.priorsDir, options.runsDir);
  const staticDir = options.staticDir ?? defaultStaticDir();
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const host = options.host ?? '127.0.0.1';
  const jobs = options.feedback ? new FeedbackJobs(options.feedback) : undefined;

  const api = async (
    method: string,
    segments: string[],
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> => {
    const route = segments.join('/');
    if (method === 'POST') {
      if (segments.length === 3 && segments[0] === 'priors' && segments[2] === 'feedback') {
        const task = segments[1]!;
        if (!data.isTask(task)) throw new HttpError(404, `unknown task '${task}'`);
        const body = await readJsonBody(req, maxBodyBytes);
        const text = typeof body.text === 'string' ? body.text.trim() : '';
        if (text === '') throw new HttpError(400, 'the body must be {"text": "<your feedback>"}');
        if (body.from !== undefined && typeof body.from !== 'string')
          throw new HttpError(400, '"from" must be a version such as "v2" or "bundled"');
        if (!jobs)
          throw new HttpError(503, 'feedback is not available: the server was started without an LLM');
        if (jobs.busy(task)) throw new HttpError(409, `a feedback round on '${task}' is already running`);
        const request: FeedbackRequest = { task, feedback: text };
        if (typeof body.from === 'string') request.from = body.from;
        sendJson(res, 202, { job: jobs.start(request) } satisfies FeedbackStarted);
        return;
      }
      throw new HttpError(segments.length === 0 ? 404 : 405, `no POST route /api/${route}`);
    }
    const [head, ...rest] = segments;
    switch (head) {
      case 'tasks':
        if (rest.length === 0) return sendJson(res, 200, data.tasks());
        break;
      case 'priors': {
        const task = rest[0];
        if (rest.length === 1 && task !== undefined) {
          const priors = data.priors(task);
          if (!priors) throw new HttpError(404, `unknown task '${task}'`);
          return sendJson(res, 200, priors);
        }
        if (rest.length === 2 && task !== undefined) {
          const version = data.priorVersion(task, rest[1]!);
          if (!version) throw new HttpError(404, `no version '${rest[1]}' of '${task}'`);
          return sendJson(res, 200, version);
        }
        break;
      }
      case 'replays': {
        if (rest.length > 0) break;
        const task = query.get('task');
        if (task === null || task === '') throw new HttpError(400, 'add ?task=<task>');
        if (!data.isTask(task)) throw new HttpError(404, `unknown task '${task}'`);
        const source = query.get('source');
        return sendJson(res, 200, data.replays(task, source ?? undefined) satisfies ReplaysResponse);
      }
      case 'replay': {
        const file = data.replayPath(rest);
        if (!file) throw new HttpError(404, `no replay '${rest.join('/')}'`);
        // Parsed before sending, so the page never has to cope with a malformed replay.
        const parsed = SceneReplaySchema.safeParse(
          JSON.parse(readInputText(file, { maxBytes: INPUT_LIMITS.record, what: 'the replay' })),
        );
        if (!parsed.success) throw new HttpError(500, `replay '${rest.join('/')}' is not a valid replay`);
        return sendJson(res, 200, parsed.data);
      }
      case 'runs':
        if (rest.length === 0) return sendJson(res, 200, data.runs());
        break;
      case 'queue': {
        if (rest.length > 0) break;
        const queue = options.queue;
        if (!queue) return sendJson(res, 200, { queue: null, experiments: [] } satisfies QueueResponse);
        let experiments: QueuedExperimentView[];
        try {
          experiments = await queue.experiments();
        } catch (error) {
          throw new HttpError(503, `the queue at ${queue.url} does not answer: ${(error as Error).message}`);
        }
        return sendJson(res, 200, { queue: queue.url, experiments } satisfies QueueResponse);
      }
      case 'curves.svg': {
        if (rest.length > 0) break;
        const names = (query.get('runs') ?? '').split(',').filter((n) => n !== '');
        if (names.length === 0) throw new HttpError(400, 'add ?runs=<run>,<run>');
        const dirs = data.runDirs(names);
        if (!dirs) throw new HttpError(404, `not all of ${names.join(', ')} are runs`);
        const svg = await options.curvesSvg(dirs);
        res.writeHead(200, { ...commonHeaders, 'content-type': CONTENT_TYPES['.svg']! });
        res.end(svg);
        return;
      }
      case 'jobs': {
        const job = rest.length === 1 ? jobs?.get(rest[0]!) : undefined;
        if (!job) throw new HttpError(404, `no job '${rest.join('/')}'`);
        return sendJson(res, 200, job satisfies JobResponse);
      }
    }
    throw new HttpError(404, `no route /api/${route}`);
  };

  const serveStatic = (segments: string[], res: ServerResponse): void => {
    const path = segments.length === 0 ? ['index.html'] : segments;
    const file = resolveInside(staticDir, ...path);
    if (!file || !statSync(file).isFile()) {
      if (segments.length === 0) {
        res.writeHead(500, { ...commonHeaders, 'content-type': 'text/plain; charset=utf-8' });
        res.end(`The viewer page is not built (${staticDir}): run npm run build.\n`);
        return;
      }
      throw new HttpError(404, `no file /${segments.join('/')}`);
    }
    res.writeHead(200, {
      ...commonHeaders,
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      // The page loads only its own files: no CDN, no inline script.
      'content-security-policy':
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'",
    });
    res.end(readFileSync(file));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? '';
    if (method !== 'GET' && method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      throw new HttpError(405, `method ${method} is not allowed`);
    }
    checkHostHeader(req, host);
    const { segments, query } = parseTarget(req.url ?? '');
    if (method === 'POST') checkPostOrigin(req);
    if (segments[0] === 'api') return api(method, segments.slice(1), query, req, res);
    if (method !== 'GET') throw new HttpError(405, 'only GET for files');
    serveStatic(segments, res);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status =
        error instanceof HttpError
          ? error.status
          : error instanceof UnsafePathError || error instanceof URIError
            ? 400
            : 500;
      const message = error instanceof Error ? error.message : String(error);
      // A bug in a handler answers 500 and is logged; the server goes on serving.
      if (status === 500) process.stderr.write(`armprior view: ${req.method} ${req.url}: ${message}\n`);
      if (res.headersSent) res.destroy();
      else sendJson(res, status, { error: message } satisfies ErrorResponse);
    });
  });
  // A request line or headers Node cannot parse: answer 400 and close, without reaching a handler.
  server.on('clientError', (_error, socket: Socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    const fail = (cause: NodeJS.ErrnoException) =>
      reject(
        new ViewerServerError(
          `cannot listen on ${host}:${options.port ?? 0} (${cause.code === 'EADDRINUSE' ? 'the port is in use; choose another with --port, or --port 0 for a free one' : cause.message})`,
          { cause },
        ),
      );
    server.once('error', fail);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/`,
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const commonHeaders = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...commonHeaders, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/**
 * Splits the raw request target into decoded path segments and the query. The raw path is split
 * before decoding (WHATWG URL parsing would fold `/a/../b` away), so `..` and `%2e%2e` arrive as
 * segments and are refused, as is `%2f` inside one.
 */
function parseTarget(target: string): { segments: string[]; query: URLSearchParams } {
  if (!target.startsWith('/')) throw new HttpError(400, 'the request target must be a path');
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  let query: URLSearchParams;
  try {
    query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  } catch {
    throw new HttpError(400, 'malformed query');
  }
  const segments = path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  // Every segment must be a plain name, whatever the route: `..`, `/` and absolute paths are
  // refused here once, before any route looks at them.
  for (const segment of segments) if (!isSafeSegment(segment)) throw new UnsafePathError(segment);
  return { segments, query };
}

/**
 * DNS rebinding: a site whose name is made to resolve to 127.0.0.1 could read the API from the
 * user's browser as if same-origin. Its requests carry its own name in Host, so a server bound to
 * loopback answers only requests addressed to a loopback name. Bound elsewhere (`--host`), the
 * machine may have any number of names and the check is left to the user's network.
 */
function checkHostHeader(req: IncomingMessage, boundHost: string): void {
  if (!isLoopbackHost(boundHost)) return;
  const header = req.headers.host ?? '';
  const name = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.split(':')[0]!;
  if (!isLoopbackHost(name)) throw new HttpError(403, `requests for host '${header}' are not served here`);
}

/**
 * A web page on another site can send simple POSTs to a loopback server; requiring JSON and a
 * same-origin Origin keeps such pages from starting LLM rounds (they would need a CORS preflight,
 * which this server never grants).
 */
function checkPostOrigin(req: IncomingMessage): void {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/json'))
    throw new HttpError(415, 'POST bodies must be application/json');
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`)
    throw new HttpError(403, `cross-origin POST from ${origin} refused`);
}

async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpError(413, `the body is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'the body must be a JSON object');
  return body as Record<string, unknown>;
}
