/**
 * A full disk at each place a run writes (issue #17), injected at the file-writing boundary
 * (node:fs), so it runs unprivileged anywhere; test/runs.e2e.test.ts fills a real tmpfs too.
 */
import * as fs from 'node:fs';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiskFullError } from '../../core/errors.js';
import { loadLatestCheckpoint, saveCheckpoint } from './checkpoint.js';
import {
  MetricsLog,
  newRunInfo,
  readRunInfo,
  recordRunFailure,
  writeFileAtomic,
  writeRunInfo,
} from './run-dir.js';

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, writeSync: vi.fn(actual.writeSync), writeFileSync: vi.fn(actual.writeFileSync) };
});

const enospc = () =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
const tempDir = () => mkdtempSync(join(tmpdir(), 'armprior-full-'));

afterEach(() => {
  vi.mocked(fs.writeSync).mockReset();
  vi.mocked(fs.writeFileSync).mockReset();
});

/** From now on, writeSync writes at most `bytes` more bytes, then fails as on a full disk. */
function diskFillsAfter(bytes: number): void {
  const actual = vi.mocked(fs.writeSync).getMockImplementation();
  let room = bytes;
  vi.mocked(fs.writeSync).mockImplementation(((fd: number, buffer: Uint8Array, offset?: number | null) => {
    if (room <= 0) throw enospc();
    const start = offset ?? 0;
    const length = Math.min(room, buffer.byteLength - start);
    room -= length;
    return (actual as typeof fs.writeSync)(fd, buffer, start, length);
  }) as typeof fs.writeSync);
}

describe('a full disk', () => {
  it('fails a checkpoint with a DiskFullError naming it, leaving no staging folder and the older checkpoints whole', () => {
    const dir = tempDir();
    saveCheckpoint(dir, 10, { meta: { step: 10 }, arrays: { a: new Float64Array(100) } }, 3);
    diskFillsAfter(300);
    const failing = () =>
      saveCheckpoint(dir, 20, { meta: { step: 20 }, arrays: { a: new Float64Array(100) } }, 3);
    expect(failing).toThrow(DiskFullError);
    expect(failing).toThrow(`no space left on device while writing ${join(dir, 'ckpt-0000000020')}`);
    expect(readdirSync(dir)).toEqual(['ckpt-0000000010']);
    expect(loadLatestCheckpoint(dir).payload.step).toBe(10);
  });

  it('takes back the partial metrics line an append left', () => {
    const log = new MetricsLog(join(tempDir(), 'metrics.jsonl'));
    log.append({ kind: 'train', step: 1, 'train/loss': 0.5 });
    const before = readFileSync(log.file, 'utf8');
    diskFillsAfter(10);
    expect(() => log.append({ kind: 'train', step: 2, 'train/loss': 0.25 })).toThrow(
      `no space left on device while writing ${log.file}`,
    );
    expect(readFileSync(log.file, 'utf8')).toBe(before);
  });

  it('leaves no temp file from an atomic write, and the old file as it was', () => {
    const dir = tempDir();
    const file = join(dir, 'run.json');
    writeFileAtomic(file, 'old');
    vi.mocked(fs.writeFileSync).mockImplementationOnce((path) => {
      fs.writeFileSync(path, 'ne'); // the start of it made it to disk
      throw enospc();
    });
    expect(() => writeFileAtomic(file, 'new')).toThrow(DiskFullError);
    expect(readdirSync(dir)).toEqual(['run.json']);
    expect(readFileSync(file, 'utf8')).toBe('old');
  });

  it('never lets a failure to record a failure replace it', () => {
    const dir = tempDir();
    const info = newRunInfo('reach', 'panda', 'td3', 0);
    writeRunInfo(dir, info);
    vi.mocked(fs.writeFileSync).mockImplementation(() => {
      throw enospc();
    });
    const unrecorded = recordRunFailure(dir, info, new Error('the checkpoint could not be written'));
    expect(unrecorded).toBeInstanceOf(DiskFullError);
    expect(readRunInfo(dir).status).toBe('running'); // readers see `interrupted` once the lock is gone
    vi.mocked(fs.writeFileSync).mockReset();
    expect(recordRunFailure(dir, info, new Error('boom'))).toBeUndefined();
    expect(readRunInfo(dir)).toMatchObject({ status: 'failed', message: 'boom' });
    expect(existsSync(join(dir, `run.json.tmp-${process.pid}`))).toBe(false);
  });

  it('is the only write failure turned into a DiskFullError', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'x'), 'y');
    const notAFolder = () => writeFileAtomic(join(dir, 'x', 'nested'), 'z');
    expect(notAFolder).toThrow(/ENOTDIR/);
    expect(notAFolder).not.toThrow(DiskFullError);
  });
});
