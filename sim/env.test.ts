import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvStateError, InvalidActionError } from '../src/core/errors.js';
import { packageRoot } from '../src/core/paths.js';
import { Rng } from '../src/core/rng.js';
import { loadRobotConfig } from '../src/robot-config/robot-config.js';
import { ArmEnv } from './env.js';
import { wasmMemoryBytes } from './test-helpers.js';

/** Observations of a few episodes with seeded random actions, concatenated. */
function rollout(env: ArmEnv, seed: number, steps: number): number[] {
  const rng = Rng.fromSeed(seed + 1000);
  const out: number[] = [];
  let { obs } = env.reset({ seed });
  out.push(...obs.observation, ...obs.desiredGoal);
  for (let t = 0; t < steps; t++) {
    const action = Array.from({ length: env.actionSize }, () => rng.uniform(-1, 1));
    const r = env.step(action);
    out.push(...r.obs.observation, ...r.obs.achievedGoal, r.reward);
    obs = r.obs;
    if (r.terminated || r.truncated) {
      obs = env.reset().obs;
      out.push(...obs.observation, ...obs.desiredGoal);
    }
  }
  return out;
}

describe('ArmEnv', () => {
  let env: ArmEnv;
  beforeAll(async () => {
    env = await ArmEnv.create({ task: 'pick-and-place' });
  });
  afterAll(() => env.close());

  it('is deterministic: same seed, bit-identical observations, also across env instances', async () => {
    const first = rollout(env, 42, 120);
    const second = rollout(env, 42, 120);
    expect(second).toEqual(first);
    const other = await ArmEnv.create({ task: 'pick-and-place' });
    try {
      expect(rollout(other, 42, 120)).toEqual(first);
      expect(rollout(other, 43, 120)).not.toEqual(first);
    } finally {
      other.close();
    }
  });

  it('separates termination from truncation: the time limit truncates', () => {
    env.reset({ seed: 1 });
    let last: ReturnType<ArmEnv['step']> | undefined;
    for (let t = 0; t < 50; t++) {
      last = env.step([0, 0, 0, 1]);
      if (t < 49) expect(last.truncated).toBe(false);
      expect(last.terminated).toBe(false);
    }
    expect(last!.truncated).toBe(true);
    expect(() => env.step([0, 0, 0, 1])).toThrow(EnvStateError);
  });

  it('rejects actions of the wrong length or with non-finite values, naming the problem', () => {
    env.reset({ seed: 0 });
    expect(() => env.step([0, 0, 0])).toThrow(InvalidActionError);
    expect(() => env.step([0, 0, 0])).toThrow(/4 values \(dx, dy, dz, gripper\), got 3/);
    expect(() => env.step([0, Number.NaN, 0, 0])).toThrow(/action\[1\] is NaN/);
    expect(() => env.step([0, 0, Number.POSITIVE_INFINITY, 0])).toThrow(/action\[2\] is Infinity/);
    expect(() => env.step(null as never)).toThrow(InvalidActionError);
    // The env is still usable after refusing an action.
    expect(env.step([0, 0, 0, 0]).obs.observation.every(Number.isFinite)).toBe(true);
  });

  it('refuses to step before reset and after close', async () => {
    const fresh = await ArmEnv.create({ task: 'reach' });
    expect(() => fresh.step([0, 0, 0])).toThrow(/before reset/);
    fresh.close();
    expect(() => fresh.reset()).toThrow(/closed/);
  });

  it('turns unstable physics into a truncated episode with a flag, never NaN or a crash', () => {
    const before = env.reset({ seed: 3 }).obs;
    env.simulation.qvel[0] = 1e12; // what a blow-up looks like to MuJoCo
    const r = env.step([0, 0, 0, 0]);
    expect(r.truncated).toBe(true);
    expect(r.terminated).toBe(false);
    expect(r.info.simUnstable).toBe(true);
    expect(r.info.simWarnings).toContain('mjWARN_BADQVEL');
    expect(r.obs.observation.every(Number.isFinite)).toBe(true);
    expect(Array.from(r.obs.observation)).toEqual(Array.from(before.observation));
    // The next episode is clean.
    env.reset({ seed: 3 });
    const next = env.step([0, 0, 0, 0]);
    expect(next.info.simUnstable).toBeUndefined();
  });

  it('computeReward matches the reward of step (sparse and dense)', async () => {
    for (const rewardType of ['sparse', 'dense'] as const) {
      const e = await ArmEnv.create({ task: 'push', taskOverrides: { rewardType } });
      try {
        e.reset({ seed: 5 });
        for (let t = 0; t < 10; t++) {
          const r = e.step([0.5, -0.3, -1]);
          expect(e.computeReward(r.obs.achievedGoal, r.obs.desiredGoal)).toBe(r.reward);
          if (rewardType === 'dense') expect(r.reward).toBeCloseTo(-r.info.rewardTerms.goalDistance!, 12);
          else expect([0, -1]).toContain(r.reward);
        }
      } finally {
        e.close();
      }
    }
  });

  it('keeps memory bounded over 10,000 resets and 100 env creations', async () => {
    for (let i = 0; i < 200; i++) env.reset({ seed: i });
    const wasmBefore = wasmMemoryBytes(env);
    for (let i = 0; i < 10_000; i++) env.reset({ seed: i });
    expect(wasmMemoryBytes(env)).toBe(wasmBefore);

    for (let i = 0; i < 10; i++) (await ArmEnv.create({ task: 'push' })).close();
    const afterWarmup = wasmMemoryBytes(env);
    const rssAfterWarmup = process.memoryUsage().rss;
    for (let i = 0; i < 90; i++) {
      const e = await ArmEnv.create({ task: i % 2 === 0 ? 'push' : 'open-drawer' });
      e.reset({ seed: i });
      e.step(new Array(e.actionSize).fill(0));
      e.close();
    }
    // Each leaked env would keep several MiB of wasm memory (model, data, arena); 90 of them
    // would add hundreds of MiB. Allow a little fragmentation.
    expect(wasmMemoryBytes(env) - afterWarmup).toBeLessThan(16 * 2 ** 20);
    expect(process.memoryUsage().rss - rssAfterWarmup).toBeLessThan(200 * 2 ** 20);
  });
});

describe('a robot config whose actuators are listed out of order (issue #21)', () => {
  it('is refused at load, naming the actuator, the joint it drives and the joint it was listed for', async () => {
    const panda = loadRobotConfig('panda');
    const actuators = [...panda.arm.actuators];
    [actuators[1], actuators[2]] = [actuators[2]!, actuators[1]!];
    const swapped = { ...panda, arm: { ...panda.arm, actuators } };
    await expect(ArmEnv.create({ task: 'reach', robot: swapped })).rejects.toThrow(
      `arm.actuators[1] '${actuators[1]}' drives joint '${panda.arm.joints[2]}', but arm.joints[1] is '${panda.arm.joints[1]}': list the actuators in the order of the joints they drive`,
    );
  });
});

describe('a robot MJCF written as a whole scene (issue #21)', () => {
  it("is refused naming the clash with the task scene's own floor, and what to change", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-arm-'));
    const xml = readFileSync(join(packageRoot(), 'sim', 'assets', 'panda.xml'), 'utf8').replace(
      '<worldbody>',
      '<worldbody>\n    <geom name="floor" type="plane" size="2 2 0.1"/>',
    );
    writeFileSync(join(dir, 'arm.xml'), xml);
    const yaml = readFileSync(join(packageRoot(), 'config', 'robots', 'panda.yaml'), 'utf8').replace(
      /^mjcf: .*$/m,
      'mjcf: arm.xml',
    );
    writeFileSync(join(dir, 'arm.yaml'), yaml);
    await expect(ArmEnv.create({ task: 'reach', robot: join(dir, 'arm.yaml') })).rejects.toThrow(
      `the geom 'floor' is in both the robot's MJCF (arm.xml) and the scene of task 'reach', which adds its own floor, table, lights and objects. Keep only the arm`,
    );
  });
});
