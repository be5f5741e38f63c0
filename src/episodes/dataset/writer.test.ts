import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { ReplayBuffer } from '../../rl/replay-buffer.js';
import { readDataset } from './reader.js';
import { EPISODES_DIR } from './schema.js';
import { clock, EXPECTED, FIELDS, META, makeEpisode, newDir } from './test-fixtures.js';
import { DatasetWriter, writeEpisodeData } from './writer.js';

const start = (seed: number) => ({ actor: 'prior:pick-and-place:v3', priorVersion: 'v3', seed });

describe('DatasetWriter and readDataset', () => {
  it('round-trips replay-buffer episodes exactly, prior fields included', async () => {
    const dir = newDir();
    const writer = await DatasetWriter.open(dir, META, { now: clock });
    const originals = [makeEpisode(0, 5), makeEpisode(1, 1), makeEpisode(2, 12, true)];
    for (const [i, episode] of originals.entries()) {
      const written = await writeEpisodeData(writer, episode, { start: start(i) });
      expect(written).toEqual({ index: i, length: episode.length, path: expect.stringContaining('') });
    }
    await writer.close();

    const read = await readDataset(dir, EXPECTED);
    expect(read.episodes).toEqual(originals);
    expect(read.tempFiles).toEqual([]);
    const buffer = new ReplayBuffer(100, { observation: 10, goal: 3, action: 4 });
    for (const episode of read.episodes) buffer.addEpisode(episode);
    expect(buffer.size).toBe(18);
    buffer.sampleInto(buffer.createBatch(8), Rng.fromSeed(0));
  });

  it('keeps dataset and episode metadata, end reasons, truncation and timestamps', async () => {
    const dir = newDir();
    const writer = await DatasetWriter.open(dir, META, { now: clock });
    await writeEpisodeData(writer, makeEpisode(0, 4), { start: start(7) });
    await writeEpisodeData(writer, makeEpisode(1, 3, true), {
      start: { actor: 'policy:runs/x/policy.onnx', startedAt: new Date('2025-02-01T00:00:00Z') },
    });
    const read = await readDataset(dir, EXPECTED);
    expect(read.meta).toEqual({ formatVersion: 1, ...META });
    const [first, second] = read.details;
    expect(first!.meta).toEqual({
      actor: 'prior:pick-and-place:v3',
      priorVersion: 'v3',
      seed: 7,
      index: 0,
      length: 4,
      endReason: 'truncated',
      startedAt: '2025-03-01T12:00:00.000Z',
      createdAt: '2025-03-01T12:00:00.000Z',
    });
    expect(Array.from(first!.truncated)).toEqual([0, 0, 0, 1]);
    expect(Array.from(first!.timeSec)).toEqual([0, 0.04, 0.08, 0.12]);
    expect(first!.file).toBe(join(dir, EPISODES_DIR, 'episode-000000.parquet'));
    expect(second!.meta).toMatchObject({ actor: 'policy:runs/x/policy.onnx', endReason: 'terminated' });
    expect(second!.meta.startedAt).toBe('2025-02-01T00:00:00.000Z');
    expect(Array.from(second!.truncated)).toEqual([0, 0, 0]);
  });

  it('records step by step, with the robot columns (sent action, safety interventions)', async () => {
    const dir = newDir();
    const writer = await DatasetWriter.open(dir, { ...META, source: 'robot' }, { now: clock });
    writer.beginEpisode({ actor: 'policy:p.onnx' });
    const observation = new Float64Array(10);
    for (let t = 0; t < 3; t++) {
      observation.fill(t); // the caller reuses its arrays: the writer must copy
      writer.addStep({
        observation,
        achievedGoal: [t, 0, 0],
        desiredGoal: [1, 1, 1],
        action: [0.5, 0.5, 0.5, -1],
        nextObservation: observation.map((v) => v + 1),
        nextAchievedGoal: [t + 1, 0, 0],
        reward: -1,
        terminated: false,
        truncated: t === 2,
        priorActed: false,
        timeSec: 0.05 * t + 0.001,
        sentAction: [0.4, 0.5, 0.5, -1],
        safetyInterventions: t,
      });
    }
    expect(await writer.endEpisode({ reason: 'aborted' })).toMatchObject({ index: 0, length: 3 });
    const read = await readDataset(dir, EXPECTED);
    const [episode] = read.episodes;
    expect(Array.from(episode!.observation.subarray(0, 10))).toEqual(new Array(10).fill(0));
    expect(Array.from(episode!.observation.subarray(20, 30))).toEqual(new Array(10).fill(2));
    expect(Array.from(episode!.hasPriorAction)).toEqual([0, 0, 0]);
    const [details] = read.details;
    expect(details!.meta.endReason).toBe('aborted');
    expect(Array.from(details!.timeSec)).toEqual([0, 1, 2].map((t) => 0.05 * t + 0.001));
    expect(Array.from(details!.sentAction!.subarray(0, 4))).toEqual([0.4, 0.5, 0.5, -1]);
    expect(Array.from(details!.safetyInterventions!)).toEqual([0, 1, 2]);
    expect(read.meta.source).toBe('robot');
  });

  it('appends to an existing dataset under new indices, leaving its files untouched', async () => {
    const dir = newDir();
    const first = await DatasetWriter.open(dir, META, { now: clock });
    await writeEpisodeData(first, makeEpisode(0, 3), { start: start(0) });
    await writeEpisodeData(first, makeEpisode(1, 3), { start: start(1) });
    await first.close();
    const episodesDir = join(dir, EPISODES_DIR);
    const before = readFileSync(join(episodesDir, 'episode-000001.parquet'));

    const second = await DatasetWriter.open(dir, META, { now: clock });
    expect(await writeEpisodeData(second, makeEpisode(2, 4), { start: start(2) })).toMatchObject({
      index: 2,
    });
    expect(readdirSync(episodesDir).sort()).toEqual([
      'episode-000000.parquet',
      'episode-000001.parquet',
      'episode-000002.parquet',
    ]);
    expect(readFileSync(join(episodesDir, 'episode-000001.parquet'))).toEqual(before);
    const read = await readDataset(dir, EXPECTED);
    expect(read.episodes.map((e) => e.length)).toEqual([3, 3, 4]);
  });

  it('never overwrites an episode another writer published meanwhile', async () => {
    const dir = newDir();
    const a = await DatasetWriter.open(dir, META, { now: clock });
    const b = await DatasetWriter.open(dir, META, { now: clock });
    expect(await writeEpisodeData(b, makeEpisode(9, 2), { start: start(9) })).toMatchObject({ index: 0 });
    expect(await writeEpisodeData(a, makeEpisode(1, 3), { start: start(1) })).toMatchObject({ index: 1 });
    const read = await readDataset(dir, EXPECTED);
    expect(read.episodes).toEqual([makeEpisode(9, 2), makeEpisode(1, 3)]);
  });

  it('lets the next episode begin while the last is written, publishing in order; close waits', async () => {
    const dir = newDir();
    const writer = await DatasetWriter.open(dir, META, { now: clock });
    const originals = [makeEpisode(0, 4), makeEpisode(1, 2), makeEpisode(2, 3)];
    // Not awaited in between, as a control loop does: each episode is taken when it ends.
    const written = originals.map((episode, i) => writeEpisodeData(writer, episode, { start: start(i) }));
    await writer.close();
    expect((await readDataset(dir, EXPECTED)).episodes).toEqual(originals);
    expect((await Promise.all(written)).map((w) => w?.index)).toEqual([0, 1, 2]);
  });

  it('fails the one episode whose file cannot be written, naming the dataset, and goes on', async () => {
    const dir = newDir();
    const writer = await DatasetWriter.open(dir, META, { now: clock });
    const episodesDir = join(dir, EPISODES_DIR);
    rmSync(episodesDir, { recursive: true }); // the disk took it away
    const lost = writeEpisodeData(writer, makeEpisode(0, 2), { start: start(0) });
    await expect(lost).rejects.toMatchObject({ code: 'dataset_write', problem: 'io' });
    await expect(lost).rejects.toThrow(`${dir}: an episode of 2 steps could not be written: ENOENT`);
    mkdirSync(episodesDir);
    expect(await writeEpisodeData(writer, makeEpisode(1, 3), { start: start(1) })).toMatchObject({
      index: 0,
    });
  });

  it('refuses to append episodes of another layout or task', async () => {
    const dir = newDir();
    const writer = await DatasetWriter.open(dir, META);
    await writeEpisodeData(writer, makeEpisode(0, 2), { start: start(0) });
    const other = { ...META, observationFields: [...FIELDS, { name: 'objectRotation', size: 4 }] };
    const error = await DatasetWriter.open(dir, other).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect(error).toMatchObject({ code: 'dataset_write', problem: 'dataset_mismatch' });
    expect((error as Error).message).toContain('objectRotation(4)');
    await expect(DatasetWriter.open(dir, { ...META, task: 'push' })).rejects.toThrow(
      /cannot append: the dataset holds other episodes \(task: existing "pick-and-place", new "push"\)/,
    );
  });

  it('ignores a temp file left by an interrupted write, and counts it', async () => {
    const dir = newDir();
    const writer = await DatasetWriter.open(dir, META);
    await writeEpisodeData(writer, makeEpisode(0, 3), { start: start(0) });
    const episodesDir = join(dir, EPISODES_DIR);
    const good = readFileSync(join(episodesDir, 'episode-000000.parquet'));
    const temp = '.episode-000001.parquet.4242-deadbeef.tmp';
    writeFileSync(join(episodesDir, temp), good.subarray(0, good.length >> 1)); // a crash mid-write

    const read = await readDataset(dir, EXPECTED);
    expect(read.episodes).toHaveLength(1);
    expect(read.tempFiles).toEqual([temp]);
    // A writer opened after the crash goes on at the next free index.
    const again = await DatasetWriter.open(dir, META);
    expect(await writeEpisodeData(again, makeEpisode(1, 2), { start: start(1) })).toMatchObject({ index: 1 });
    expect(readdirSync(episodesDir).filter((n) => n.endsWith('.tmp'))).toEqual([temp]);
  });

  it('leaves no temp file behind and writes nothing for an empty or discarded episode', async () => {
    const dir = newDir();
    const writer = await DatasetWriter.open(dir, META);
    writer.beginEpisode({ actor: 'prior:x' });
    expect(await writer.endEpisode({ reason: 'aborted' })).toBeNull();
    writer.beginEpisode({ actor: 'prior:x' });
    await writeStepless(writer);
    expect(await writer.close()).toEqual({ discardedSteps: 1 });
    expect(readdirSync(join(dir, EPISODES_DIR))).toEqual([]);
  });

  it('refuses steps of the wrong size, non-finite values and misuse, naming the step', async () => {
    const writer = await DatasetWriter.open(newDir(), META);
    const step = {
      observation: new Float64Array(10),
      achievedGoal: [0, 0, 0],
      desiredGoal: [0, 0, 0],
      action: [0, 0, 0, 0],
      nextObservation: new Float64Array(10),
      nextAchievedGoal: [0, 0, 0],
      reward: -1,
      terminated: false,
      truncated: false,
      priorActed: false,
    };
    expect(() => writer.addStep(step)).toThrow(/addStep outside an episode/);
    writer.beginEpisode({ actor: 'prior:x' });
    writer.addStep(step);
    expect(() => writer.addStep({ ...step, action: [0, 0, 0] })).toThrow(
      /step 1: action has 3 values, expected 4/,
    );
    expect(() => writer.addStep({ ...step, achievedGoal: [0, Number.NaN, 0] })).toThrow(
      /step 1: achievedGoal\[1\] is NaN/,
    );
    expect(() => writer.addStep({ ...step, priorActed: true })).toThrow(
      /priorActed is true but no priorAction/,
    );
    expect(() => writer.addStep({ ...step, sentAction: [0, 0, 0, 0], safetyInterventions: 0 })).toThrow(
      /on every step of an episode or on none/,
    );
    expect(() => writer.beginEpisode({ actor: 'prior:x' })).toThrow(/previous episode has not ended/);
    await writer.close();
    expect(() => writer.beginEpisode({ actor: 'prior:x' })).toThrow(/closed/);
  });
});

async function writeStepless(writer: DatasetWriter): Promise<void> {
  const episode = makeEpisode(0, 1);
  writer.addStep({
    observation: episode.observation,
    achievedGoal: episode.achievedGoal,
    desiredGoal: episode.desiredGoal,
    action: episode.action,
    nextObservation: episode.nextObservation,
    nextAchievedGoal: episode.nextAchievedGoal,
    reward: 0,
    terminated: false,
    truncated: false,
    priorActed: false,
  });
}
