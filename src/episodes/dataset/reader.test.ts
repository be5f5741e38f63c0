import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DataType,
  Field,
  Float32,
  List,
  makeVector,
  Table,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { DatasetError, type DatasetProblem } from '../../core/errors.js';
import { CHECKSUMS_DIR, verifyEpisodeChecksum } from './checksums.js';
import { episodeToTable } from './episode-table.js';
import type { DatasetExpectation } from './expectation.js';
import { decodeParquet, encodeParquet } from './parquet-io.js';
import { readDataset } from './reader.js';
import { EPISODES_DIR } from './schema.js';
import { EXPECTED, FIELDS, META, makeEpisode, newDir } from './test-fixtures.js';
import { DatasetWriter, writeEpisodeData } from './writer.js';

/**
 * A dataset of three episodes of 4, 5 and 6 steps. Without its checksums unless asked: most
 * tests here damage files on purpose to see the row-by-row checks, which are what stands
 * between a learner and a file that has no checksum (written before them, or by another tool).
 */
async function dataset(
  options: { checksums?: boolean } = {},
): Promise<{ dir: string; file: (index: number) => string }> {
  const dir = newDir();
  const writer = await DatasetWriter.open(dir, META);
  for (const i of [0, 1, 2])
    await writeEpisodeData(writer, makeEpisode(i, 4 + i), { start: { actor: 'prior:x' } });
  if (!options.checksums) rmSync(join(dir, CHECKSUMS_DIR), { recursive: true });
  const file = (index: number) => join(dir, EPISODES_DIR, `episode-00000${index}.parquet`);
  return { dir, file };
}

/** Rewrites episode file `path` with its table changed by `edit`, keeping its metadata. */
function rewrite(path: string, edit: (table: Table) => Table): void {
  const { table, keyValue } = decodeParquet(readFileSync(path), path);
  const kept = new Map([...keyValue].filter(([key]) => key.startsWith('armprior.')));
  writeFileSync(path, encodeParquet(edit(table), kept));
}

async function refusal(dir: string, expected: DatasetExpectation = EXPECTED): Promise<DatasetError> {
  const error = await readDataset(dir, expected).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatasetError);
  return error as DatasetError;
}

function expectRefusal(error: DatasetError, problem: DatasetProblem, file: string, message: RegExp): void {
  expect(error.code).toBe('dataset_invalid');
  expect(error.problem).toBe(problem);
  expect(error.file).toBe(file);
  expect(error.message).toContain(file);
  expect(error.message).toMatch(message);
}

describe('readDataset refuses', () => {
  it('a missing folder, and a dataset without episodes', async () => {
    const dir = newDir();
    expectRefusal(await refusal(join(dir, 'nope')), 'missing', join(dir, 'nope'), /no dataset here/);
    mkdirSync(join(dir, EPISODES_DIR));
    writeFileSync(join(dir, EPISODES_DIR, '.episode-000000.parquet.1-ab.tmp'), 'PAR1');
    expectRefusal(await refusal(dir), 'missing', dir, /no episodes in .* \(only 1 unfinished temp file/);
  });

  it('a truncated episode file, naming it', async () => {
    const { dir, file } = await dataset();
    const bytes = readFileSync(file(1));
    writeFileSync(file(1), bytes.subarray(0, bytes.length - 100));
    expectRefusal(
      await refusal(dir),
      'truncated',
      file(1),
      /truncated Parquet file \(\d+ bytes, no footer\)/,
    );
  });

  it('a corrupt episode file (damaged footer), naming it', async () => {
    const { dir, file } = await dataset();
    const bytes = readFileSync(file(2));
    // The footer (thrift) garbled at its start; its length and the closing magic intact.
    const footerStart = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8);
    bytes.fill(0, footerStart, footerStart + 32); // a thrift STOP: the file metadata ends empty
    writeFileSync(file(2), bytes);
    expectRefusal(await refusal(dir), 'corrupt', file(2), /corrupt Parquet file: /);
  });

  it('a corrupt episode file (damaged column data), naming it', async () => {
    const { dir, file } = await dataset();
    const bytes = readFileSync(file(1));
    bytes.fill(0xff, 4, 260); // the first column chunks: page headers and ZSTD frames
    writeFileSync(file(1), bytes);
    expectRefusal(await refusal(dir), 'corrupt', file(1), /corrupt Parquet file: /);
  });

  it('a file that is not Parquet, or empty', async () => {
    const { dir, file } = await dataset();
    writeFileSync(file(0), 'episode,step\n0,0\n');
    expectRefusal(await refusal(dir), 'not_parquet', file(0), /does not start with the Parquet magic/);
    writeFileSync(file(0), '');
    expectRefusal(await refusal(dir), 'not_parquet', file(0), /the file is empty/);
  });

  it('an observation layout other than the expected one, saying which field differs', async () => {
    const { dir, file } = await dataset();
    const expected = {
      ...EXPECTED,
      task: 'pick-and-place',
      observationFields: [
        ...FIELDS.slice(0, 3),
        { name: 'objectPosition', size: 3 },
        { name: 'objectRotation', size: 4 },
      ],
    };
    const error = await refusal(dir, expected);
    expectRefusal(
      error,
      'layout_mismatch',
      file(0),
      /dataset observation has fields \[eePosition\(3\), eeVelocity\(3\), gripperWidth\(1\), objectPosition\(3\)\] \(10 values\), task pick-and-place expects \[.*objectRotation\(4\)\] \(14 values\): the dataset lacks field objectRotation\(4\)/,
    );
    const renamed = FIELDS.map((f) => (f.name === 'eeVelocity' ? { name: 'eeSpeed', size: 3 } : f));
    expect((await refusal(dir, { ...EXPECTED, observationFields: renamed })).message).toMatch(
      /field 2 is eeVelocity\(3\), expected eeSpeed\(3\)/,
    );
    const bySize = await refusal(dir, { goalSize: 3, actionSize: 4, observationSize: 13 });
    expectRefusal(bySize, 'layout_mismatch', file(0), /\(10 values\), the caller expects 13 values/);
  });

  it('an action size, goal size or task other than the expected one', async () => {
    const { dir, file } = await dataset();
    expectRefusal(
      await refusal(dir, { ...EXPECTED, actionSize: 3 }),
      'action_mismatch',
      file(0),
      /dataset actions have 4 values, task pick-and-place expects 3/,
    );
    expectRefusal(await refusal(dir, { ...EXPECTED, goalSize: 6 }), 'goal_mismatch', file(0), /goals have 3/);
    expectRefusal(
      await refusal(dir, { ...EXPECTED, task: 'push' }),
      'task_mismatch',
      file(0),
      /recorded for task pick-and-place, task push was asked for/,
    );
  });

  it('a file whose columns are missing', async () => {
    const { dir, file } = await dataset();
    rewrite(file(1), (table) =>
      table.select(table.schema.names.filter((n) => n !== 'reward' && n !== 'action')),
    );
    expectRefusal(await refusal(dir), 'missing_column', file(1), /missing columns action, reward/);
  });

  it('rows out of order', async () => {
    const { dir, file } = await dataset();
    rewrite(file(1), (table) => table.setChild('step', makeVector(Int32Array.from([0, 2, 1, 3, 4]))));
    expectRefusal(await refusal(dir), 'rows', file(1), /rows out of order: row 1 has step 2/);
  });

  it('non-finite values, naming the column and step', async () => {
    const { dir, file } = await dataset();
    const episode = makeEpisode(2, 6);
    episode.nextObservation[3 * 10 + 4] = Number.POSITIVE_INFINITY;
    rewrite(file(2), () =>
      episodeToTable({ ...episode, truncated: new Uint8Array(6), timeSec: new Float64Array(6) }, 2, {
        observation: 10,
        goal: 3,
        action: 4,
      }),
    );
    expectRefusal(await refusal(dir), 'non_finite', file(2), /next_observation\[4\] is Infinity at step 3/);
  });

  it('vectors of another size than the metadata declares', async () => {
    const { dir, file } = await dataset();
    rewrite(file(0), () =>
      episodeToTable(
        { ...makeEpisode(0, 4), truncated: new Uint8Array(4), timeSec: new Float64Array(4) },
        0,
        { observation: 10, goal: 3, action: 3 }, // 4 values a row read as 3: the lists are cut differently
      ),
    );
    expectRefusal(await refusal(dir), 'rows', file(0), /action has 3 values at step 0, the metadata says 4/);
  });

  it('a file of another dataset mixed in', async () => {
    const { dir, file } = await dataset();
    const other = newDir();
    const writer = await DatasetWriter.open(other, { ...META, robot: 'ur5e' });
    for (const i of [0, 1])
      await writeEpisodeData(writer, makeEpisode(i, 3), { start: { actor: 'prior:x' } });
    rmSync(file(1));
    writeFileSync(file(1), readFileSync(join(other, EPISODES_DIR, 'episode-000001.parquet')));
    expectRefusal(
      await refusal(dir),
      'dataset_mismatch',
      file(1),
      /does not belong with episode-000000.parquet: robot: this file "ur5e", episode-000000.parquet "panda"/,
    );
  });

  it('a file renamed to another index', async () => {
    const { dir, file } = await dataset();
    writeFileSync(file(0), readFileSync(file(2)));
    expectRefusal(await refusal(dir), 'metadata', file(0), /metadata says episode 2, the file name 0/);
  });
});

describe('episode checksums', () => {
  it('refuses a file with any one byte flipped, naming it, before decoding it', async () => {
    const { dir, file } = await dataset({ checksums: true });
    const original = readFileSync(file(0));
    // Issue #17: a flip at 84 of 202 offsets was read back with changed values. The check, at
    // every offset of the file; the whole read, at every 61st (each rewrites the file).
    const flipped = (offset: number) => {
      const bytes = Buffer.from(original);
      bytes[offset] = bytes[offset]! ^ 0x10;
      return bytes;
    };
    const passed: number[] = [];
    for (let offset = 0; offset < original.length; offset++) {
      const ok = await verifyEpisodeChecksum(dir, 'episode-000000.parquet', flipped(offset)).then(
        () => true,
        () => false,
      );
      if (ok) passed.push(offset);
    }
    expect(passed).toEqual([]);
    const accepted: number[] = [];
    for (let offset = 0; offset < original.length; offset += 61) {
      writeFileSync(file(0), flipped(offset));
      const error = await readDataset(dir, EXPECTED).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(error instanceof DatasetError) || error.problem !== 'corrupt' || error.file !== file(0))
        accepted.push(offset);
    }
    expect(accepted).toEqual([]);
    expectRefusal(
      await refusal(dir),
      'corrupt',
      file(0),
      new RegExp(
        `corrupted: its ${original.length} bytes do not match the SHA-256 recorded when it was written`,
      ),
    );
    writeFileSync(file(0), original);
    expect((await readDataset(dir, EXPECTED)).unverified).toEqual([]);
  });

  it('refuses a file whose checksum file is damaged, naming both', async () => {
    const { dir, file } = await dataset({ checksums: true });
    const checksum = join(dir, CHECKSUMS_DIR, 'episode-000002.parquet.sha256');
    writeFileSync(checksum, 'not a checksum\n');
    expectRefusal(
      await refusal(dir),
      'corrupt',
      file(2),
      /checksum file .*episode-000002\.parquet\.sha256 is damaged/,
    );
  });

  it('reads a dataset written before checksums, listing its files as unverified', async () => {
    const { dir, file } = await dataset();
    const read = await readDataset(dir, EXPECTED);
    expect(read.episodes.map((e) => e.length)).toEqual([4, 5, 6]);
    expect(read.unverified).toEqual([file(0), file(1), file(2)]);
    // Appending to it keeps checksums for the new episodes only.
    const writer = await DatasetWriter.open(dir, META);
    await writeEpisodeData(writer, makeEpisode(3, 2), { start: { actor: 'prior:x' } });
    expect((await readDataset(dir, EXPECTED)).unverified).toEqual([file(0), file(1), file(2)]);
  });

  it('writes checksums sha256sum can check, and ignores one left without its episode file', async () => {
    const { dir } = await dataset({ checksums: true });
    const line = readFileSync(join(dir, CHECKSUMS_DIR, 'episode-000000.parquet.sha256'), 'utf8');
    expect(line).toMatch(/^[0-9a-f]{64} {2}episodes\/episode-000000\.parquet\n$/);
    // A writer that crashed after claiming index 3 (checksum written, episode file not).
    writeFileSync(
      join(dir, CHECKSUMS_DIR, 'episode-000003.parquet.sha256'),
      line.replace('000000', '000003'),
    );
    expect((await readDataset(dir, EXPECTED)).episodes).toHaveLength(3);
    const writer = await DatasetWriter.open(dir, META);
    expect(await writeEpisodeData(writer, makeEpisode(4, 2), { start: { actor: 'prior:x' } })).toMatchObject({
      index: 4,
    });
    const read = await readDataset(dir, EXPECTED);
    expect(read.episodes.map((e) => e.length)).toEqual([4, 5, 6, 2]);
    expect(read.unverified).toEqual([]);
  });
});

describe('readDataset accepts what other tools write (issue #21)', () => {
  /** `table` with every float column, vectors too, narrowed to float32 (as LeRobot and numpy often write). */
  const toFloat32 = (table: Table): Table => {
    const columns: Record<string, Vector> = {};
    for (const name of table.schema.names as string[]) {
      const column = table.getChild(name)!;
      const type = column.type;
      if (DataType.isFloat(type)) {
        columns[name] = vectorFromArray(
          Array.from({ length: column.length }, (_, t) => column.get(t)),
          new Float32(),
        );
      } else if (DataType.isList(type) && DataType.isFloat(type.children[0]!.type)) {
        const rows = Array.from({ length: column.length }, (_, t) => {
          const row = column.get(t) as Vector | null;
          return row === null ? null : Array.from(row.toArray() as Float64Array);
        });
        columns[name] = vectorFromArray(rows, new List(new Field('item', new Float32(), true)));
      } else columns[name] = column;
    }
    return new Table(columns);
  };

  it('float32 columns, widened to the float32 values', async () => {
    const { dir, file } = await dataset();
    const before = (await readDataset(dir, EXPECTED)).episodes[1]!;
    rewrite(file(1), toFloat32);
    const after = (await readDataset(dir, EXPECTED)).episodes[1]!;
    expect(Array.from(after.observation)).toEqual(Array.from(before.observation, Math.fround));
    expect(Array.from(after.reward)).toEqual(Array.from(before.reward, Math.fround));
    expect(Array.from(after.priorAction)).toEqual(Array.from(before.priorAction, Math.fround));
  });

  it('no prior columns: no prior action on any step; one of the two alone is refused', async () => {
    const { dir, file } = await dataset();
    rewrite(file(1), (table) =>
      table.select((table.schema.names as string[]).filter((n) => !n.startsWith('prior_'))),
    );
    const episode = (await readDataset(dir, EXPECTED)).episodes[1]!;
    expect(episode.length).toBe(5);
    expect(Array.from(episode.priorActed)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(episode.hasPriorAction)).toEqual([0, 0, 0, 0, 0]);
    rewrite(file(2), (table) => table.select(table.schema.names.filter((n) => n !== 'prior_action')));
    expectRefusal(
      await refusal(dir),
      'missing_column',
      file(2),
      /missing column prior_action \(prior_acted and prior_action go together\)/,
    );
  });
});
