import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  recordReplayFixture,
  writePriorFixture,
  writeRunFixture,
  writeSceneReplayFixture,
} from '../../test/support/viewer-fixtures.js';
import { SceneReplaySchema } from '../episodes/scene/scene-replay-format.js';
import { curvesSvgForRuns } from '../rl/experiment/run-plot.js';
import { RunLock } from '../rl/train/run-lock.js';
import type {
  JobResponse,
  PriorsResponse,
  PriorVersionResponse,
  QueuedExperimentView,
  QueueResponse,
  ReplaysResponse,
  RunsResponse,
  TasksResponse,
} from './api-types.js';
import {
  type FeedbackRequest,
  isLoopbackHost,
  startViewerServer,
  type ViewerServer,
  ViewerServerError,
} from './server.js';

const SECRET = 'top-secret-outside-the-data-roots';
const V1 = 'export function act(obs, ctx) {\n  return [0, 0, 0];\n}';
const V2 = 'export function act(obs, ctx) {\n  return towards(obs.eePosition, obs.desiredGoal, 10);\n}';

/** A raw GET with the path exactly as written (fetch and URL would fold `..` away first). */
function rawGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes raw bytes on a fresh socket and returns what comes back before the server closes it. */
function rawSocket(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let received = '';
    socket.on('data', (d) => {
      received += d.toString('latin1');
    });
    socket.on('close', () => resolve(received));
    socket.on('error', () => resolve(received));
    socket.setTimeout(5000, () => socket.destroy());
  });
}

describe('armprior view server', () => {
  let root: string;
  let priors: string;
  let runs: string;
  let liveRun: RunLock | undefined;
  let server: ViewerServer;
  let base: string;
  const curveCalls: string[][] = [];
  const feedbackCalls: FeedbackRequest[] = [];
  let releaseFeedback: () => void = () => {};
  let failCurves = false;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'armprior-view-'));
    priors = join(root, 'priors');
    runs = join(root, 'runs');
    const outside = join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.json'), JSON.stringify({ secret: SECRET }));
    writeFileSync(join(outside, 'controller.js'), SECRET);
    writeFileSync(join(outside, 'meta.json'), JSON.stringify({ task: 'reach', version: 7, secret: SECRET }));
    writeFileSync(join(root, 'secret.json'), SECRET);

    writePriorFixture(priors, 'reach', V1, { successRate: 0.25 });
    writePriorFixture(priors, 'reach', V2, { parent: 1, feedback: 'move up and down too', successRate: 1 });
    const replay = await recordReplayFixture('reach', 3, { steps: 4, actor: 'prior:reach:v2' });
    writeSceneReplayFixture(join(priors, 'reach', 'v2', 'replays'), 0, replay);
    writeSceneReplayFixture(join(priors, 'reach', 'bundled', 'replays'), 0, replay);
    // Escapes by symlink: a replay file and a whole version folder pointing outside the root.
    symlinkSync(join(outside, 'secret.json'), join(priors, 'reach', 'v2', 'replays', 'episode-000009.json'));
    symlinkSync(outside, join(priors, 'reach', 'v7'));

    writeRunFixture(runs, 'reach__td3__0__20260101-000000', { task: 'reach', algo: 'td3', seed: 0 }, [
      [0, 0],
      [1000, 0.5],
      [2000, 1],
    ]);
    writeRunFixture(
      runs,
      'reach__td3__1__20260101-000000',
      { task: 'reach', algo: 'td3', seed: 1, status: 'running' },
      [
        [0, 0],
        [1000, 0.25],
      ],
    );
    // Run 1 is live (this process holds its lock); a run.json left `running` by a process that
    // is gone (SIGKILL) reads as interrupted.
    liveRun = RunLock.acquire(join(runs, 'reach__td3__1__20260101-000000'), 'armprior train');
    writeRunFixture(
      runs,
      'push__td3__0__20260101-000000',
      { task: 'push', algo: 'td3', seed: 0, status: 'running' },
      [[0, 0]],
    );
    writeSceneReplayFixture(join(runs, 'reach__td3__0__20260101-000000', 'replays'), 0, replay);
    symlinkSync(outside, join(runs, 'escaping-run'));

    // Issue #17: a run folder inside --runs whose run.json leads out (to a file that is no run,
    // or with metrics.jsonl to a valid run outside); a version file leading out; an evaluation
    // with a failure message of 8 MB, as saved before the sandbox bounded them.
    mkdirSync(join(runs, 'linked-run-json'));
    symlinkSync(join(outside, 'secret.json'), join(runs, 'linked-run-json', 'run.json'));
    const elsewhere = writeRunFixture(
      join(root, 'elsewhere'),
      'reach__td3__5__20260101-000000',
      { task: 'reach', algo: 'td3', seed: 5 },
      [[0, 0]],
    );
    mkdirSync(join(runs, 'linked-valid-run'));
    for (const file of ['run.json', 'metrics.jsonl'])
      symlinkSync(join(elsewhere, file), join(runs, 'linked-valid-run', file));
    writePriorFixture(priors, 'push', V1, { feedback: 'a note' });
    rmSync(join(priors, 'push', 'v1', 'feedback.md'));
    symlinkSync(join(outside, 'secret.json'), join(priors, 'push', 'v1', 'feedback.md'));
    writePriorFixture(priors, 'slide', V1);
    const evaluationFile = join(priors, 'slide', 'v1', 'evaluation.json');
    const saved = JSON.parse(readFileSync(evaluationFile, 'utf8')) as { summary: string };
    writeFileSync(
      evaluationFile,
      JSON.stringify({ ...saved, summary: `${saved.summary}\n  e.g. threw: ${'E'.repeat(8 * 1024 * 1024)}` }),
    );

    const staticDir = join(root, 'static');
    mkdirSync(staticDir);
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>viewer</title>');

    server = await startViewerServer({
      priorsDir: priors,
      runsDir: runs,
      staticDir,
      curvesSvg: async (dirs) => {
        if (failCurves) throw new Error('curves broke');
        curveCalls.push(dirs);
        return '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0L1 1"/></svg>';
      },
      feedback: async (req, onProgress) => {
        feedbackCalls.push(req);
        onProgress('asking the LLM');
        await new Promise<void>((resolve) => {
          releaseFeedback = resolve;
        });
        return { version: 3, successRate: 0.75, summary: 'success rate: 3/4' };
      },
    });
    base = server.url;
  });
  afterAll(async () => {
    await server?.close();
    liveRun?.release();
  });

  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(new URL(path, base));
    expect(response.status, path).toBe(200);
    return (await response.json()) as T;
  };

  it('binds to loopback by default and serves the page', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('lists tasks, priors with their evaluation and failure summary, and one version with its diff', async () => {
    const { tasks } = await get<TasksResponse>('/api/tasks');
    expect(tasks.find((t) => t.name === 'reach')).toMatchObject({ name: 'reach', versions: 2, runs: 2 });
    expect(tasks.find((t) => t.name === 'reach')!.episodes).toBeGreaterThan(0);
    const reach = await get<PriorsResponse>('/api/priors/reach');
    expect(reach.active).toBe(2);
    expect(reach.bundled).toBe(true);
    // v7 is a symlink leading out of the store: not listed.
    expect(reach.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(reach.versions[1]).toMatchObject({ parent: 1, feedback: 'move up and down too', successRate: 1 });
    expect(reach.activeEvaluation?.summary).toContain('failures: stopped short');
    const v2 = await get<PriorVersionResponse>('/api/priors/reach/v2');
    expect(v2.code).toBe(V2);
    expect(v2.diffBase).toBe('v1');
    expect(v2.diff).toContain('-  return [0, 0, 0];');
    expect(v2.diff).toContain('+  return towards(obs.eePosition, obs.desiredGoal, 10);');
    const v1 = await get<PriorVersionResponse>('/api/priors/reach/v1');
    expect(v1.diff).toBeNull();
    const bundled = await get<PriorVersionResponse>('/api/priors/reach/bundled');
    expect(bundled.code).toContain('export function act');
  });

  it('lists replay sources of a task and serves a replay that parses', async () => {
    const { sources } = await get<ReplaysResponse>('/api/replays?task=reach');
    expect(sources.map((s) => s.source)).toEqual([
      'prior:v2',
      'prior:bundled',
      'run:reach__td3__0__20260101-000000',
    ]);
    // The symlink leading out is a name in the folder but never read through.
    expect(sources[0]!.episodes.map((e) => e.id)).toContain('priors/reach/v2/episode-000000.json');
    const only = await get<ReplaysResponse>('/api/replays?task=reach&source=prior:bundled');
    expect(only.sources.map((s) => s.source)).toEqual(['prior:bundled']);
    for (const id of [
      'priors/reach/v2/episode-000000.json',
      'priors/reach/bundled/episode-000000.json',
      'runs/reach__td3__0__20260101-000000/episode-000000.json',
    ]) {
      const replay = SceneReplaySchema.parse(await get(`/api/replay/${id}`));
      expect(replay.task).toBe('reach');
      expect(replay.frames.length).toBe(5);
    }
  });

  it('lists runs and draws curves of named runs through the injected function', async () => {
    const { runs: list } = await get<RunsResponse>('/api/runs');
    expect(list.map((r) => [r.name, r.algo, r.seed, r.status])).toEqual([
      ['push__td3__0__20260101-000000', 'td3', 0, 'interrupted'],
      ['reach__td3__0__20260101-000000', 'td3', 0, 'finished'],
      ['reach__td3__1__20260101-000000', 'td3', 1, 'running'],
    ]);
    const response = await fetch(
      new URL('/api/curves.svg?runs=reach__td3__0__20260101-000000,reach__td3__1__20260101-000000', base),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/svg+xml');
    expect(await response.text()).toContain('<path');
    expect(curveCalls.at(-1)).toEqual([
      join(runs, 'reach__td3__0__20260101-000000'),
      join(runs, 'reach__td3__1__20260101-000000'),
    ]);
  });

  it('refuses every path that would leave the data roots, without leaking what is there', async () => {
    const attempts: [string, number][] = [
      ['/api/replay/priors/reach/v2/../../../../secret.json', 400],
      ['/api/replay/priors/reach/v2/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.json', 400],
      ['/api/replay/priors/reach/v2/..%2f..%2f..%2f..%2fsecret.json', 400],
      ['/api/replay/priors/reach/v2/%2Ftmp%2Fsecret.json', 400],
      ['/api/replay/runs/%2Fetc/episode-000000.json', 400],
      ['/api/priors/..%2F..%2Foutside', 400],
      ['/api/priors/reach/..', 400],
      ['/api/replays?task=../outside', 404],
      ['/api/curves.svg?runs=../outside', 400],
      ['/api/curves.svg?runs=/etc', 400],
      ['/%2e%2e/%2e%2e/secret.json', 400],
      ['/../secret.json', 400],
      ['/.hidden', 400],
      // Symlinks inside a root that point out of it: as if absent.
      ['/api/replay/priors/reach/v2/episode-000009.json', 404],
      ['/api/priors/reach/v7', 404],
      ['/api/curves.svg?runs=escaping-run', 404],
    ];
    for (const [path, status] of attempts) {
      const response = await rawGet(server.port, path);
      expect(response.status, path).toBe(status);
      expect(response.body, path).not.toContain(SECRET);
      expect(JSON.parse(response.body), path).toHaveProperty('error');
    }
    // DNS rebinding: another site's name resolved to 127.0.0.1 is not served.
    const rebound = await rawGet(server.port, '/api/priors/reach', { host: 'evil.example:80' });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('move up and down');
    expect((await rawGet(server.port, '/api/tasks', { host: `localhost:${server.port}` })).status).toBe(200);
    // An absolute-form target is not a path on this server.
    const absolute = await rawSocket(
      server.port,
      `GET http://127.0.0.1/etc/passwd HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`,
    );
    expect(absolute).toMatch(/^HTTP\/1\.1 400/);
  });

  it('refuses run and version files that lead out of the roots, on every route (issue #17)', async () => {
    for (const run of ['linked-run-json', 'linked-valid-run']) {
      const response = await rawGet(server.port, `/api/curves.svg?runs=${run}`);
      expect(response.status, run).toBe(404);
      expect(response.body, run).not.toContain(SECRET);
      expect(response.body, run).not.toContain(root);
    }
    expect(curveCalls.flat().some((dir) => dir.includes('linked'))).toBe(false);
    const { runs: list } = await get<RunsResponse>('/api/runs');
    expect(list.map((r) => r.name)).not.toContain('linked-valid-run');
    for (const path of ['/api/priors/push', '/api/priors/push/v1', '/api/tasks']) {
      const response = await rawGet(server.port, path);
      expect(response.body, path).not.toContain(SECRET);
    }
    expect((await rawGet(server.port, '/api/priors/push/v1')).status).toBe(404);
  });

  it('answers with controller text bounded, however big the saved evaluation (issue #17)', async () => {
    const response = await rawGet(server.port, '/api/priors/slide');
    expect(response.status).toBe(200);
    expect(response.body.length).toBeLessThan(64 * 1024);
    const slide = JSON.parse(response.body) as PriorsResponse;
    expect(slide.activeEvaluation?.summary).toMatch(/^success rate: 2\/4\n/);
    expect(slide.activeEvaluation?.summary).toMatch(/threw: E+… \[\d+ characters cut\]$/);
    const version = await rawGet(server.port, '/api/priors/slide/v1');
    expect(version.body.length).toBeLessThan(64 * 1024);
  });

  it('answers 404 for unknown things and 400 for malformed input', async () => {
    for (const path of [
      '/api/priors/no-such-task',
      '/api/priors/reach/v99',
      '/api/priors/reach/latest',
      '/api/replay/priors/reach/v2/episode-000042.json',
      '/api/replay/priors/reach/v2/controller.js',
      '/api/nothing',
      '/api/jobs/job-999',
      '/nothing.js',
    ]) {
      expect((await rawGet(server.port, path)).status, path).toBe(404);
    }
    expect((await rawGet(server.port, '/api/replays')).status).toBe(400);
    expect((await rawGet(server.port, '/api/curves.svg')).status).toBe(400);
    expect((await rawGet(server.port, '/api/priors/%E0%A4%A')).status).toBe(400);
    expect((await rawGet(server.port, '/api/tasks', {}, 'PUT')).status).toBe(405);
    expect((await rawGet(server.port, '/api/tasks', {}, 'DELETE')).status).toBe(405);
    const json = { 'content-type': 'application/json' };
    const post = (
      body: string,
      headers: Record<string, string> = json,
      path = '/api/priors/reach/feedback',
    ) => rawGet(server.port, path, headers, 'POST', body);
    expect((await post('{not json')).status).toBe(400);
    expect((await post('[1, 2]')).status).toBe(400);
    expect((await post('{"text": ""}')).status).toBe(400);
    expect((await post('{"text": "x", "from": 3}')).status).toBe(400);
    expect((await post('{"text": "x"}', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('{"text": "x"}', { ...json, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(JSON.stringify({ text: 'x'.repeat(70_000) }))).status).toBe(413);
    expect((await post('{"text": "x"}', json, '/api/priors/no-such-task/feedback')).status).toBe(404);
    expect((await post('{"text": "x"}', json, '/api/tasks')).status).toBe(405);
    expect(feedbackCalls).toHaveLength(0);
  });

  it('survives malformed requests on raw sockets and errors inside handlers', async () => {
    for (const garbage of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nhost: x\r\ncontent-length: nope\r\n\r\n',
      'GET /\u0000 HTTP/1.1\r\n\r\n',
      '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000', // a TLS ClientHello on the plain port
      `GET /${'a'.repeat(20_000)} HTTP/1.1\r\n${'x-pad: y\r\n'.repeat(2000)}\r\n`,
    ]) {
      const answer = await rawSocket(server.port, garbage);
      if (answer !== '') expect(answer).toMatch(/^HTTP\/1\.1 4\d\d/);
      expect((await fetch(new URL('/api/tasks', base))).status).toBe(200);
    }
    failCurves = true;
    try {
      const broken = await fetch(new URL('/api/curves.svg?runs=reach__td3__0__20260101-000000', base));
      expect(broken.status).toBe(500);
      expect(((await broken.json()) as { error: string }).error).toBe('curves broke');
    } finally {
      failCurves = false;
    }
    expect((await fetch(new URL('/api/tasks', base))).status).toBe(200);
  });

  it('runs a feedback round as a job: 202, progress while running, one round per task, the result', async () => {
    const start = await fetch(new URL('/api/priors/reach/feedback', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: '  lift the gripper  ', from: 'v1' }),
    });
    expect(start.status).toBe(202);
    const { job } = (await start.json()) as { job: string };
    expect(feedbackCalls).toEqual([{ task: 'reach', feedback: 'lift the gripper', from: 'v1' }]);
    const running = await get<JobResponse>(`/api/jobs/${job}`);
    expect(running).toMatchObject({ state: 'running', progress: 'asking the LLM', result: null });
    const second = await fetch(new URL('/api/priors/reach/feedback', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text": "again"}',
    });
    expect(second.status).toBe(409);
    releaseFeedback();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const done = await get<JobResponse>(`/api/jobs/${job}`);
    expect(done).toMatchObject({ state: 'done', result: { version: 3, successRate: 0.75 }, error: null });
  });

  it('says clearly when the port is taken', async () => {
    await expect(
      startViewerServer({ priorsDir: priors, runsDir: runs, port: server.port, curvesSvg: async () => '' }),
    ).rejects.toThrow(ViewerServerError);
    await expect(
      startViewerServer({ priorsDir: priors, runsDir: runs, port: server.port, curvesSvg: async () => '' }),
    ).rejects.toThrow(/the port is in use/);
  });

  it('answers 503 for feedback when started without an LLM', async () => {
    const plain = await startViewerServer({ priorsDir: priors, runsDir: runs, curvesSvg: async () => '' });
    try {
      const response = await fetch(new URL('/api/priors/reach/feedback', plain.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"text": "x"}',
      });
      expect(response.status).toBe(503);
    } finally {
      await plain.close();
    }
  });

  it("answers the queue's experiments from the injected source, none without one, 503 when the queue does not answer", async () => {
    const plain = await get<QueueResponse>('/api/queue');
    expect(plain).toEqual({ queue: null, experiments: [] });
    const experiment: QueuedExperimentView = {
      id: 'exp-1',
      state: 'waiting-children',
      summary: '0 of 1 runs done, 1 training',
      runs: [
        {
          label: 'reach · td3 · seed 0',
          state: 'active',
          worker: 'w1',
          envSteps: 10,
          totalSteps: 20,
          runName: 'r',
        },
      ],
    };
    let answering = true;
    const queued = await startViewerServer({
      priorsDir: priors,
      runsDir: runs,
      curvesSvg: async () => '',
      queue: {
        url: 'redis://***:***@queue:6379',
        experiments: async () => {
          if (!answering) throw new Error('Connection is closed.');
          return [experiment];
        },
      },
    });
    try {
      const answer = await fetch(new URL('/api/queue', queued.url));
      expect(await answer.json()).toEqual({ queue: 'redis://***:***@queue:6379', experiments: [experiment] });
      answering = false;
      const gone = await fetch(new URL('/api/queue', queued.url));
      expect(gone.status).toBe(503);
      expect(await gone.json()).toEqual({
        error: 'the queue at redis://***:***@queue:6379 does not answer: Connection is closed.',
      });
    } finally {
      await queued.close();
    }
  });

  it('draws curves of fixture runs as armprior plot does (mean ± spread as SVG paths)', async () => {
    const svg = await curvesSvgForRuns([
      join(runs, 'reach__td3__0__20260101-000000'),
      join(runs, 'reach__td3__1__20260101-000000'),
    ]);
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('<path');
    expect(svg).toContain('reach · td3');
  });
});
