import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rewriteSigned } from './checkpoint-fixtures.js';
import { readMetrics, runFiles } from './run-dir.js';
import { readRunCheckpoint } from './run-state.js';
import { resolveTrainConfig } from './train-config.js';
import { train } from './trainer.js';

/** A short TD3 run on Reach with a checkpoint every 200 steps (at 200, 400 and 600). */
const config = resolveTrainConfig('td3', 'test', {
  totalSteps: 600,
  learningStarts: 200,
  logEverySteps: 200,
  evaluation: { everySteps: 600, episodes: 2 },
  checkpoint: { everySteps: 200, keep: 3 },
  td3: { hidden: [16, 16], batchSize: 32 },
});

let trained: string;

beforeAll(async () => {
  trained = mkdtempSync(join(tmpdir(), 'armprior-run-'));
  await train({ task: 'reach', robot: 'panda', seed: 3, config, runDir: trained });
}, 120_000);

/** A copy of the trained run whose newest checkpoint (600) had `damage` done to its meta.json. */
function damagedCopy(damage: (meta: Record<string, unknown>) => unknown): { dir: string; newest: string } {
  const dir = mkdtempSync(join(tmpdir(), 'armprior-run-'));
  cpSync(trained, dir, { recursive: true });
  const newest = join(runFiles(dir).checkpoints, 'ckpt-0000000600');
  const meta = JSON.parse(readFileSync(join(newest, 'meta.json'), 'utf8'));
  rewriteSigned(newest, 'meta.json', JSON.stringify(damage(meta) ?? meta));
  return { dir, newest };
}

describe('run checkpoints', () => {
  it('reads the newest checkpoint of a run', () => {
    expect(readdirSync(runFiles(trained).checkpoints).sort()).toEqual([
      'ckpt-0000000200',
      'ckpt-0000000400',
      'ckpt-0000000600',
    ]);
    const checkpoint = readRunCheckpoint(runFiles(trained).checkpoints);
    expect(checkpoint.step).toBe(600);
    expect(checkpoint.skipped).toEqual([]);
  });

  // Issue #17: each of these verified against the manifest and then stopped --resume with a
  // TypeError or an unnamed error. Now they are skipped like a corrupted checkpoint, and kept.
  const cases: [string, (meta: Record<string, unknown>) => unknown, RegExp][] = [
    ['rng: null', (meta) => ({ ...meta, rng: null }), /rng: /],
    [
      'an RNG state that is not one',
      (meta) => ({ ...meta, rng: { collect: [7], learn: [0, 0, 1, 2, 3, 4] } }),
      /rng.collect: \[7\] is not a generator state/,
    ],
    ['no buffers', (meta) => ({ ...meta, buffers: undefined }), /buffers: /],
    [
      'a buffer count its arrays do not hold',
      (meta) => ({ ...meta, buffers: { ...(meta.buffers as object), online: 100 } }),
      /online buffer: 'reward' holds 600 values for 100 slots/,
    ],
    [
      'a learner tensor the arrays do not hold',
      (meta) => {
        const learner = meta.learner as { shapes: Record<string, number[]> };
        learner.shapes['actor.0.weight'] = [16, 99];
      },
      /learner tensor actor.0.weight is missing or does not hold its 1584 values/,
    ],
    [
      'a negative step count',
      (meta) => ({ ...meta, state: { ...(meta.state as object), envSteps: -1 } }),
      /state.envSteps/,
    ],
    [
      'a state of another step than the manifest',
      (meta) => ({ ...meta, state: { ...(meta.state as object), envSteps: 400 } }),
      /meta.json is at 400 env steps, the manifest at 600/,
    ],
    [
      'a normaliser whose means do not fit its size',
      (meta) => ({ ...meta, normalizer: { ...(meta.normalizer as object), mean: [0] } }),
      /normalizer: normalizer state of size 9 holds 1 means/,
    ],
  ];
  for (const [what, damage, reason] of cases) {
    it(`skips a checkpoint with ${what}, naming it, and keeps it on disk`, () => {
      const { dir, newest } = damagedCopy(damage);
      const checkpoint = readRunCheckpoint(runFiles(dir).checkpoints);
      expect(checkpoint.step).toBe(400);
      expect(checkpoint.skipped).toHaveLength(1);
      expect(checkpoint.skipped[0]!.reason).toContain(`${newest}: malformed run state: `);
      expect(checkpoint.skipped[0]!.reason).toMatch(reason);
      expect(existsSync(join(newest, 'meta.json'))).toBe(true);
    });
  }

  it('resumes from the checkpoint before a malformed one, and says which it skipped', async () => {
    const { dir, newest } = damagedCopy((meta) => ({ ...meta, rng: null }));
    const notices: string[] = [];
    const resumed = await train({
      task: 'reach',
      robot: 'panda',
      seed: 3,
      config,
      runDir: dir,
      resume: true,
      onNotice: (m) => notices.push(m),
    });
    expect(resumed.resumedFrom).toBe(400);
    expect(resumed.envSteps).toBe(600);
    expect(notices.join('\n')).toContain(
      `skipped a damaged checkpoint: ${newest}: malformed run state: meta.json: rng: `,
    );
    // Resuming at 400 writes again what the run wrote after it: the same records.
    const strip = (file: string) =>
      readMetrics(file).map((r) =>
        Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('time/'))),
      );
    expect(strip(runFiles(dir).metrics)).toEqual(strip(runFiles(trained).metrics));
  }, 120_000);
});
