import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../src/core/paths.js';
import { Rng } from '../src/core/rng.js';

// The served env's cost (`armprior env serve`, issue #21): control steps through the line
// protocol from another process, as the Python Gymnasium package makes them (a JSON request and
// answer a step, through two pipes), against the same env stepped in-process (bench sim).

/** Steps per second through `armprior env serve`: the median of `rounds` rounds of `steps` random actions. */
export async function servedStepsPerSec(task: string, rounds: number, steps: number): Promise<number> {
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'armprior.js'), 'env', 'serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const answers = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  let id = 0;
  const request = async (body: Record<string, unknown>) => {
    child.stdin!.write(`${JSON.stringify({ id: ++id, ...body })}\n`);
    const answer = JSON.parse((await answers.next()).value as string) as {
      ok: boolean;
      result: { terminated?: boolean; truncated?: boolean; action_size?: number };
      error?: { message: string };
    };
    if (!answer.ok) throw new Error(`env serve: ${answer.error?.message}`);
    return answer.result;
  };
  try {
    await request({ op: 'hello', protocol: 1 });
    const actionSize = (await request({ op: 'make', task })).action_size!;
    const rng = Rng.fromSeed(3);
    const run = async (n: number) => {
      await request({ op: 'reset', seed: 0 });
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        const action = Array.from({ length: actionSize }, () => rng.uniform(-1, 1));
        const r = await request({ op: 'step', action });
        if (r.terminated || r.truncated) await request({ op: 'reset' });
      }
      return n / ((performance.now() - started) / 1000);
    };
    await run(steps); // warm-up: the server's wasm and JIT tier up
    const rates: number[] = [];
    for (let round = 0; round < rounds; round++) rates.push(await run(steps));
    rates.sort((a, b) => a - b);
    return rates[rates.length >> 1]!;
  } finally {
    child.stdin!.end(`${JSON.stringify({ id: ++id, op: 'close' })}\n`);
    child.kill();
  }
}
