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
import { rewriteSigned } from './checkpoint-fixtures.js';

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

  it('skips a checkpoint whose files verify but whose content is malformed, naming the problem, and keeps it', () => {
    const cases: [string, (dir: string) => void, RegExp][] = [
      [
        'meta.json not JSON',
        (dir) => rewriteSigned(dir, 'meta.json', '{"step": 20,'),
        /meta.json is not JSON/,
      ],
      [
        'meta.json not an object',
        (dir) => rewriteSigned(dir, 'meta.json', 'null'),
        /meta.json is not a JSON object/,
      ],
      [
        'an index byteOffset of 1e12',
        (dir) => {
          const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
          index[0].byteOffset = 1e12;
          rewriteSigned(dir, 'index.json', JSON.stringify(index));
        },
        /index.json puts a at bytes 1000000000000–1000000000040 \(float64\), outside arrays.bin's \d+ bytes/,
      ],
      [
        'an index length past the end',
        (dir) => {
          const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
          index[1].length = 1000;
          rewriteSigned(dir, 'index.json', JSON.stringify(index));
        },
        /index.json puts b at bytes/,
      ],
      [
        'an index entry of an unknown type',
        (dir) => {
          const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
          index[2].dtype = 'int64';
          rewriteSigned(dir, 'index.json', JSON.stringify(index));
        },
        /index.json is malformed \(2.dtype: /,
      ],
      ['index.json not JSON', (dir) => rewriteSigned(dir, 'index.json', '[{'), /index.json is not JSON/],
      [
        'a manifest of another step',
        (dir) => {
          const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
          writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, step: 99 }));
        },
        /the manifest says step 99, the folder name 0000000020/,
      ],
      [
        'a manifest naming a file outside the checkpoint',
        (dir) => {
          const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
          manifest.files['../../escape'] = manifest.files['meta.json'];
          writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
        },
        /manifest.json is not an armprior checkpoint manifest \(files.*escape/,
      ],
    ];
    for (const [what, damage, reason] of cases) {
      const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
      saveCheckpoint(dir, 10, payload(10), 3);
      const newest = saveCheckpoint(dir, 20, payload(20), 3);
      damage(newest);
      const latest = loadLatestCheckpoint(dir);
      expect(latest.payload.step, what).toBe(10);
      expect(
        latest.skipped.map((s) => s.reason),
        what,
      ).toEqual([expect.stringMatching(reason)]);
      expect(latest.skipped[0]!.reason, what).toContain(newest);
      expect(() => readCheckpoint(newest), what).toThrow(CheckpointError);
      expect(existsSync(join(newest, 'manifest.json')), what).toBe(true);
    }
  });

  it('skips a checkpoint its reader refuses, as a damaged one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    saveCheckpoint(dir, 10, payload(10), 3);
    saveCheckpoint(dir, 20, { ...payload(20), meta: { step: 20, note: 42 } }, 3);
    const latest = loadLatestCheckpoint(dir, (p, at) => {
      if (typeof p.meta.note !== 'string') throw new CheckpointError(`${at}: note is not text`);
      return p.meta.note;
    });
    expect(latest.payload.step).toBe(10);
    expect(latest.parsed).toBe('hello');
    expect(latest.skipped[0]!.reason).toMatch(/ckpt-0000000020: note is not text/);
  });
});
