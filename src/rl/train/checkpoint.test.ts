import { existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  listCheckpoints,
  loadLatestCheckpoint,
  readCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';

const payload = (k: number) => ({
  meta: { step: k, note: 'hello' },
  arrays: {
    a: Float64Array.from({ length: 5 }, (_, i) => i + k),
    b: Float32Array.of(1.5, -2.5, k),
    c: Uint8Array.of(1, 0, 1),
  },
});

describe('checkpoints', () => {
  it('round-trips arrays of every type and the JSON state', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const written = saveCheckpoint(dir, 100, payload(100), 2);
    const read = readCheckpoint(written);
    expect(read.step).toBe(100);
    expect(read.meta).toEqual({ step: 100, note: 'hello' });
    expect(Array.from(read.arrays.a!)).toEqual([100, 101, 102, 103, 104]);
    expect(read.arrays.b).toBeInstanceOf(Float32Array);
    expect(Array.from(read.arrays.b!)).toEqual([1.5, -2.5, 100]);
    expect(Array.from(read.arrays.c!)).toEqual([1, 0, 1]);
  });

  it('keeps the newest `keep` checkpoints and never shows a staging folder as one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    for (const step of [10, 20, 30]) saveCheckpoint(dir, step, payload(step), 2);
    writeFileSync(join(dir, 'not-a-checkpoint'), '');
    expect(listCheckpoints(dir)).toEqual(['ckpt-0000000030', 'ckpt-0000000020']);
    expect(readdirSync(dir).some((name) => name.startsWith('.staging'))).toBe(false);
  });

  it('skips a truncated or corrupted newest checkpoint, names it, and keeps it on disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    saveCheckpoint(dir, 10, payload(10), 3);
    const newest = saveCheckpoint(dir, 20, payload(20), 3);
    truncateSync(join(newest, 'arrays.bin'), 10);
    let latest = loadLatestCheckpoint(dir);
    expect(latest.payload.step).toBe(10);
    expect(latest.skipped[0]!.reason).toMatch(
      /ckpt-0000000020: arrays.bin has 10 bytes, the manifest says \d+ \(truncated\?\)/,
    );
    expect(existsSync(newest)).toBe(true);

    const other = saveCheckpoint(dir, 30, payload(30), 3);
    const bytes = readFileSync(join(other, 'meta.json'));
    bytes[2] = bytes[2]! ^ 0xff;
    writeFileSync(join(other, 'meta.json'), bytes);
    latest = loadLatestCheckpoint(dir);
    expect(latest.payload.step).toBe(10);
    expect(latest.skipped.map((s) => s.reason).join('\n')).toMatch(/meta.json does not match its checksum/);
  });

  it('says clearly when there is no usable checkpoint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    expect(() => loadLatestCheckpoint(dir)).toThrow(
      /no checkpoint in .* \(the run was stopped before its first one\)/,
    );
    const only = saveCheckpoint(dir, 5, payload(5), 1);
    writeFileSync(join(only, 'manifest.json'), '{');
    expect(() => loadLatestCheckpoint(dir)).toThrow(CheckpointError);
    expect(() => loadLatestCheckpoint(dir)).toThrow(/no usable checkpoint.*manifest/);
  });

  it('moves a damaged checkpoint of the same step aside instead of overwriting it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const first = saveCheckpoint(dir, 50, payload(50), 2);
    truncateSync(join(first, 'arrays.bin'), 3);
    saveCheckpoint(dir, 50, payload(51), 2);
    expect(readCheckpoint(first).meta).toEqual({ step: 51, note: 'hello' });
    expect(readdirSync(dir).filter((n) => n.includes('damaged'))).toHaveLength(1);
  });
});
