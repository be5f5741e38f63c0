import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { cliBin, runCli } from './support/run-cli.js';

// `armprior env serve`: the line protocol the Python Gymnasium package talks (issue #21), spoken
// here to the real CLI process.

/** An answer: JSON, checked field by field by the tests. */
interface Answer {
  id: number;
  ok: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: the protocol's JSON, read field by field below
  result?: any;
  error: { code: string; message: string };
}

/** A served env: send a request, get its answer. */
function serve() {
  const child = spawn(process.execPath, [cliBin, 'env', 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const answers = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  let id = 0;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    async request(body: Record<string, unknown>): Promise<Answer> {
      child.stdin!.write(`${JSON.stringify({ id: ++id, ...body })}\n`);
      const next = await answers.next();
      if (next.done) throw new Error(`the server ended: ${stderr}`);
      return JSON.parse(next.value);
    },
    raw(line: string) {
      child.stdin!.write(`${line}\n`);
      return answers.next().then((n) => JSON.parse(n.value as string));
    },
    exited,
    kill: () => child.kill(),
  };
}

describe('armprior env serve', () => {
  it("steps a task as armprior sim does: the same seed gives the zero controller's episode", async () => {
    const env = serve();
    try {
      expect((await env.request({ op: 'hello', protocol: 1 })).result).toMatchObject({ protocol: 1 });
      const spec = (await env.request({ op: 'make', task: 'push' })).result;
      expect(spec).toMatchObject({
        task: 'push',
        robot: 'panda',
        action_size: 3,
        goal_size: 3,
        max_episode_steps: 50,
      });
      expect(spec.observation_fields.reduce((n: number, f: { size: number }) => n + f.size, 0)).toBe(
        spec.observation_size,
      );
      const reset = (await env.request({ op: 'reset', seed: 7 })).result;
      expect(reset.observation).toHaveLength(spec.observation_size);
      let total = 0;
      let steps = 0;
      let last: Answer['result'];
      for (;;) {
        last = (await env.request({ op: 'step', action: [0, 0, 0] })).result;
        total += last.reward;
        steps++;
        if (last.terminated || last.truncated) break;
      }
      const sim = JSON.parse(
        (await runCli(['sim', '-t', 'push', '-c', 'zero', '-n', '1', '-s', '7', '--json'])).stdout,
      );
      expect(steps).toBe(sim.episodes[0].length);
      expect(total).toBeCloseTo(sim.episodes[0].return, 9);
      expect(last.info.is_success).toBe(sim.episodes[0].success);
      // compute_reward, vectorised as HER calls it: the env's reward for each pair.
      const rewards = (
        await env.request({
          op: 'compute_reward',
          achieved_goal: [last.achieved_goal, last.desired_goal],
          desired_goal: [last.desired_goal, last.desired_goal],
        })
      ).result.reward;
      expect(rewards).toEqual([last.reward, 0]);
      expect(await env.request({ op: 'close' })).toMatchObject({ ok: true });
      expect(await env.exited).toBe(0);
    } finally {
      env.kill();
    }
  });

  it('answers bad requests with an error and goes on serving', async () => {
    const env = serve();
    try {
      expect((await env.request({ op: 'make', task: 'push' })).error.code).toBe('no_hello');
      const old = await env.request({ op: 'hello', protocol: 2 });
      expect(old.error.message).toContain('this armprior speaks env protocol 1, the client 2');
      await env.request({ op: 'hello', protocol: 1 });
      expect((await env.request({ op: 'reset' })).error.message).toBe('no env yet: send make first');
      expect((await env.request({ op: 'make', task: 'juggle' })).error.message).toMatch(
        /unknown task 'juggle'/,
      );
      expect((await env.raw('{not json')).error.message).toMatch(/^not JSON/);
      expect((await env.request({ op: 'fly' })).error.code).toBe('bad_request');
      await env.request({ op: 'make', task: 'reach' });
      await env.request({ op: 'reset', seed: 1 });
      const wrong = await env.request({ op: 'step', action: [0, 0] });
      expect(wrong.ok).toBe(false);
      expect(wrong.error.message).toMatch(/takes actions of 3 values/);
      expect((await env.request({ op: 'step', action: [0, 0, 0] })).ok).toBe(true);
      const short = await env.request({
        op: 'compute_reward',
        achieved_goal: [[0, 0]],
        desired_goal: [[0, 0, 0]],
      });
      expect(short.error.message).toBe(
        "compute_reward: goal 0 has 2 and 3 values, task 'reach' has goals of 3",
      );
      expect((await env.request({ op: 'reset', seed: 2 ** 31 })).error.code).toBe('bad_request');
    } finally {
      env.kill();
    }
  });
});
