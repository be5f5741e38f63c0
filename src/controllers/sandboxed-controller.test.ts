import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArmEnv } from '../../sim/env.js';
import { runEpisode } from '../../sim/rollout.js';
import { observationLayout } from './contract.js';
import { evaluateController } from './evaluate.js';
import { SandboxedController } from './sandboxed-controller.js';

describe('SandboxedController in episodes', () => {
  let env: ArmEnv;
  beforeAll(async () => {
    env = await ArmEnv.create({ task: 'push' });
  });
  afterAll(() => env.close());

  const controller = (code: string, maxFailuresPerEpisode = 3) =>
    new SandboxedController(
      'test',
      code,
      observationLayout(env.observationFields, env.task.goalFields, env.actionSize),
      { maxFailuresPerEpisode, dtSec: 0.04, maxSteps: 50 },
    );

  it('answers failed calls with a zero action, counts them, and ends the episode after the limit', () => {
    const c = controller(
      "export function act(obs, ctx) { if (ctx.step >= 10) throw new Error('lost track'); return [0, 0, -1]; }",
    );
    const episode = runEpisode(env, c, 4);
    expect(episode.length).toBe(13); // 10 good steps, then 3 failures
    expect(episode.truncated).toBe(true);
    expect(episode.controllerFailures).toBe(3);
    expect(episode.abortReason).toMatch(/failed 3 time\(s\).*threw.*lost track/);
    c.dispose();
  });

  it('keeps going through occasional failures below the limit', () => {
    const c = controller(
      'export function act(obs, ctx) { return ctx.step % 20 === 5 ? [NaN, 0, 0] : [0, 0, 0]; }',
      4,
    );
    const episode = runEpisode(env, c, 4);
    expect(episode.length).toBe(50);
    expect(episode.controllerFailures).toBe(3); // steps 5, 25, 45
    expect(episode.abortReason).toBeUndefined();
    c.dispose();
  });

  it('reports controller errors and what went wrong in the evaluation summary', async () => {
    const idle = controller('export function act() { return [0, 0, 0]; }');
    const evaluation = await evaluateController(env, idle, [1, 2, 3]);
    expect(evaluation.summary).toMatch(/success rate: 0\/3/);
    expect(evaluation.summary).toContain('never reached the object');
    idle.dispose();
    const crashing = controller('export function act() { return undefined; }', 2);
    const crashed = await evaluateController(env, crashing, [1]);
    expect(crashed.summary).toContain('ended by controller errors');
    expect(crashed.summary).toMatch(/controller errors: 2 failed act\(\) calls/);
    expect(crashed.summary).toContain('bad-output');
    crashing.dispose();
  });

  it('lets the event loop run between episodes (a server evaluating a version keeps answering)', async () => {
    const idle = controller('export function act() { return [0, 0, 0]; }');
    const events: string[] = [];
    setImmediate(() => events.push('other work'));
    await evaluateController(env, idle, [1, 2, 3], (done) => events.push(`episode ${done}`));
    expect(events).toEqual(['episode 1', 'other work', 'episode 2', 'episode 3']);
    idle.dispose();
  });
});
