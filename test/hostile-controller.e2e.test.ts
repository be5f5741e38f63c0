import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_TEXT_CHARS } from '../src/core/bounded-text.js';
import type { JobResponse } from '../src/viewer/api-types.js';
import { FakeOpenAiServer } from './support/fake-openai-server.js';
import { FLAT_REACH } from './support/reach-controllers.js';
import { cliBin, runCli } from './support/run-cli.js';
import { writePriorFixture } from './support/viewer-fixtures.js';

/**
 * Controller code written to hurt the process that runs it (issue #17), through the real CLI:
 * each used to abort, freeze or flood the host. Now the host finishes every command, says what
 * the controller did, and keeps what it writes small.
 */
describe('controller code cannot kill, freeze or flood the host', () => {
  const workspace = () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-hostile-'));
    return { dir, priors: join(dir, 'priors') };
  };
  const addPrior = async (ws: { dir: string; priors: string }, name: string, code: string) => {
    const file = join(ws.dir, name);
    writeFileSync(file, code);
    return runCli([
      'prior',
      'add',
      file,
      '--task',
      'reach',
      '--priors',
      ws.priors,
      '--episodes',
      '3',
      '--no-replays',
    ]);
  };

  /** `prior eval` of the active reach prior on 2 episodes. */
  const evalPrior = (ws: { priors: string }, ...extra: string[]) =>
    runCli([
      'prior',
      'eval',
      '--task',
      'reach',
      '--priors',
      ws.priors,
      '--episodes',
      '2',
      '--no-replays',
      ...extra,
    ]);

  it('a controller that runs past its heap limit in act(): every command finishes and says so', async () => {
    const ws = workspace();
    const added = await addPrior(
      ws,
      'oom.js',
      'export function act() { new Array(1e8).fill(0); return [0, 0, 0]; }',
    );
    expect(added.stderr).not.toMatch(/unexpected|FATAL|heap out of memory/);
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('reach v1 stored');
    expect(added.stdout).toMatch(/success rate: 0\/3/);
    expect(added.stdout).toMatch(/memory|did not return within/);
    const evaluation = JSON.parse(readFileSync(join(ws.priors, 'reach', 'v1', 'evaluation.json'), 'utf8'));
    expect(evaluation.episodes).toBe(3);

    const again = await evalPrior(ws);
    expect(again.stderr).not.toMatch(/unexpected|FATAL/);
    expect(again.code).toBe(0);
    const sim = await runCli([
      'sim',
      '--task',
      'reach',
      '--controller',
      'prior',
      '--priors',
      ws.priors,
      '--episodes',
      '2',
    ]);
    expect(sim.stderr).not.toMatch(/unexpected|FATAL/);
    expect(sim.code).toBe(0);
    expect(sim.stdout).toMatch(/controller errors 1/);

    // On the control loop: the actor's failure stops the robot safely, as a fault (exit 3), with a report.
    const run = await runCli(
      ['run', '--robot', 'sim', '--actor', 'prior:reach', '--priors', ws.priors, '--duration', '2', '--json'],
      {},
      undefined,
      ws.dir,
    );
    expect(run.stderr).not.toMatch(/unexpected|FATAL/);
    expect(run.code).toBe(3);
    const result = JSON.parse(run.stdout);
    expect(result.report.fault).toBe(true);
    expect(result.report.stopReason).toMatch(
      /prior:reach:v1: its sandbox stopped at step 0 \((memory|timeout)\)/,
    );
  });

  it('a controller that runs past its heap limit at load is refused, naming the problem', async () => {
    const ws = workspace();
    const added = await addPrior(
      ws,
      'oom-at-load.js',
      'new Array(1e8).fill(0);\nexport function act() { return [0, 0, 0]; }',
    );
    expect(added.stderr).not.toMatch(/unexpected|FATAL|heap out of memory/);
    expect(added.code).toBe(2);
    expect(added.stderr).toMatch(/could not be loaded|out of memory|did not finish/);
  });

  it('a call the isolate cannot interrupt: the loop keeps its rate, gives the step up and stops the robot', async () => {
    const ws = workspace();
    // One sort of 3.5 M floats per call: a single C++ call, about 0.5–2 s.
    const added = await addPrior(
      ws,
      'stall.js',
      'const big = new Float32Array(3.5e6); for (let i = 0; i < 4096; i++) big[i] = Math.sin(i * 7919); for (let n = 4096; n < big.length; n *= 2) big.copyWithin(n, 0, n);\nexport function act() { big.slice().sort(); return [0, 0, 0]; }',
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/did not return within 200 ms/);
    const run = await runCli(
      ['run', '--robot', 'sim', '--actor', 'prior:reach', '--priors', ws.priors, '--duration', '2', '--json'],
      {},
      undefined,
      ws.dir,
    );
    expect(run.code).toBe(3);
    const { report } = JSON.parse(run.stdout);
    // Before: "steps 1 in 5.5 s, overruns 0": the clock and the watchdog were frozen in the call.
    expect(report.abandonedSteps).toBeGreaterThanOrEqual(1);
    expect(report.overruns).toBeGreaterThan(0);
    expect(report.fault).toBe(true);
    expect(report.stopReason).toMatch(/abandoned|did not return/);
  });

  it('bounds the error text a controller throws in everything it writes', async () => {
    const ws = workspace();
    const added = await addPrior(
      ws,
      'loud.js',
      "export function act() { throw 'E'.repeat(8 * 1024 * 1024); }",
    );
    expect(added.code).toBe(0);
    // Before: a 193 MB evaluation.json and 38 MB on stdout.
    expect(added.stdout.length).toBeLessThan(20 * MAX_TEXT_CHARS);
    expect(statSync(join(ws.priors, 'reach', 'v1', 'evaluation.json')).size).toBeLessThan(50_000);
  });

  it('a controller that reads the clock is refused the clock, the same way every time', async () => {
    const ws = workspace();
    const added = await addPrior(
      ws,
      'clock.js',
      'export function act() { return [new Date().getTime() % 2, 0, 0]; }',
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/new Date\(\) is not available to controllers/);
    const first = await evalPrior(ws, '--json');
    const second = await evalPrior(ws, '--json');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(second.stdout);
  });

  it('a feedback round in armprior view whose new controller runs out of memory: the viewer goes on', async () => {
    const ws = workspace();
    writePriorFixture(ws.priors, 'reach', FLAT_REACH, { successRate: 0.25 });
    const llm = new FakeOpenAiServer();
    await llm.start();
    llm.enqueue({
      kind: 'reply',
      text: '```javascript\nexport function act() { new Array(1e8).fill(0); return [0, 0, 0]; }\n```\n',
    });
    const view = spawn(
      process.execPath,
      [cliBin, 'view', '--port', '0', '--priors', ws.priors, '--episodes', '2'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          OPENAI_BASE_URL: llm.baseUrl,
          OPENAI_API_KEY: 'sk-test-0123',
          ARMPRIOR_LLM_MODEL: 'fake-model',
        },
      },
    );
    let exited: number | null | undefined;
    view.on('exit', (code) => {
      exited = code;
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        view.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const match = /armprior view: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (match) resolve(match[1]!);
        });
        view.on('exit', (code) => reject(new Error(`armprior view exited (${code})`)));
      });
      const started = await fetch(new URL('/api/priors/reach/feedback', url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'go faster', from: 'v1' }),
      });
      expect(started.status).toBe(202);
      const { job } = (await started.json()) as { job: string };
      let state: JobResponse | undefined;
      for (let i = 0; i < 600 && state?.state !== 'done' && state?.state !== 'failed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        state = (await (await fetch(new URL(`/api/jobs/${job}`, url))).json()) as JobResponse;
      }
      // Before: the round's evaluation aborted the whole viewer (V8 heap out of memory).
      expect(state?.state).toBe('done');
      expect(exited).toBeUndefined();
      const priors = await fetch(new URL('/api/priors/reach', url));
      expect(priors.status).toBe(200);
      expect(JSON.stringify(await priors.json())).toMatch(/memory|did not return within/);
    } finally {
      view.kill('SIGINT');
      await llm.stop();
    }
  });
});
