import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { EPISODES_DIR, readDataset } from '../episodes/dataset/index.js';
import { RunRecorder } from './run-recorder.js';

const FIELDS = [{ name: 'eePosition', size: 3 }];
const options = (dir: string) => ({
  dir,
  task: 'reach',
  robot: 'panda',
  source: 'sim' as const,
  periodSec: 0.04,
  observationFields: FIELDS,
  goalSize: 3,
  actionSize: 3,
  computeReward: () => -1,
  actorIsPrior: true,
});
const obs = (t: number) => ({
  observation: Float64Array.of(t, 0, 0),
  achievedGoal: Float64Array.of(t, 0, 0),
  desiredGoal: Float64Array.of(1, 1, 1),
});
const step = (t: number) => ({
  ...obs(t),
  action: [t, 0, 0],
  sentAction: [t, 0, 0],
  safetyInterventions: 0,
  timeSec: t * 0.04,
});

function recordEpisode(recorder: RunRecorder, steps: number): void {
  recorder.beginEpisode('prior:reach:bundled');
  for (let t = 0; t < steps; t++) recorder.step(step(t));
  recorder.observeFinal(obs(steps));
  recorder.endEpisode('truncated');
}

describe('RunRecorder', () => {
  it('writes episodes in the background; close waits until every one is on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-recorder-'));
    const recorder = await RunRecorder.open(options(dir));
    recordEpisode(recorder, 3);
    recordEpisode(recorder, 2); // begins before the first file is written
    await recorder.close();
    const data = await readDataset(dir, { task: 'reach', observationSize: 3, goalSize: 3, actionSize: 3 });
    expect(data.episodes.map((e) => e.length)).toEqual([3, 2]);
    // Each step's next observation is the following step's, the last one the final observation.
    expect(Array.from(data.episodes[0]!.nextObservation.filter((_, i) => i % 3 === 0))).toEqual([1, 2, 3]);
  });

  it('makes the next step throw when an episode could not be written, and close too if no step came', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-recorder-'));
    const recorder = await RunRecorder.open(options(dir));
    rmSync(join(dir, EPISODES_DIR), { recursive: true });
    recordEpisode(recorder, 2);
    recorder.beginEpisode('prior:reach:bundled');
    // The write fails in the background; a step after that throws (steps before it record).
    await vi.waitFor(() =>
      expect(() => recorder.step(step(0))).toThrow(/an episode of 2 steps could not be written/),
    );
    // Reported once: recording goes on once the disk is back.
    mkdirSync(join(dir, EPISODES_DIR));
    recorder.step(step(0));
    recorder.endEpisode('aborted');
    await recorder.close();

    const again = await RunRecorder.open(options(dir));
    rmSync(join(dir, EPISODES_DIR), { recursive: true });
    recordEpisode(again, 2);
    await expect(again.close()).rejects.toThrow(/could not be written/);
  });
});
