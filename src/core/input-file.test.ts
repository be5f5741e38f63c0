import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputFileError, readInputFile, readInputFileAsync, readInputText } from './input-file.js';

const dir = () => mkdtempSync(join(tmpdir(), 'armprior-input-'));

function problemOf(read: () => unknown): { problem: string; message: string } {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(InputFileError);
    return { problem: (error as InputFileError).problem, message: (error as Error).message };
  }
  throw new Error('expected the read to be refused');
}

describe('bounded reads of user-given files (issue #17 §4)', () => {
  it('reads a regular file whole, sync and async', async () => {
    const file = join(dir(), 'a.txt');
    const text = 'x'.repeat(200_000);
    writeFileSync(file, text);
    expect(readInputText(file, { maxBytes: 1 << 20, what: 'the file' })).toBe(text);
    expect((await readInputFileAsync(file, { maxBytes: 1 << 20, what: 'the file' })).toString()).toBe(text);
    expect(readInputText(file, { maxBytes: 200_000, what: 'the file' })).toBe(text);
  });

  it('refuses a device such as /dev/zero before reading anything, sync and async', async () => {
    const refused = problemOf(() => readInputFile('/dev/zero', { maxBytes: 1 << 20, what: 'the module' }));
    expect(refused).toEqual({
      problem: 'not_a_file',
      message: 'cannot read the module /dev/zero (not a regular file: a character device)',
    });
    await expect(readInputFileAsync('/dev/zero', { maxBytes: 1 << 20, what: 'the module' })).rejects.toThrow(
      /not a regular file: a character device/,
    );
  });

  it('refuses a FIFO without waiting for a writer, and a folder', () => {
    const fifo = join(dir(), 'pipe');
    execFileSync('mkfifo', [fifo]);
    expect(problemOf(() => readInputFile(fifo, { maxBytes: 100, what: 'the config' })).message).toMatch(
      /not a regular file: a FIFO/,
    );
    expect(problemOf(() => readInputFile(dir(), { maxBytes: 100, what: 'the config' })).problem).toBe(
      'not_a_file',
    );
  });

  it('refuses a file larger than its limit, by its size and while reading one that reports size 0', async () => {
    const file = join(dir(), 'big.bin');
    writeFileSync(file, Buffer.alloc(1001));
    expect(problemOf(() => readInputFile(file, { maxBytes: 1000, what: 'the policy' }))).toEqual({
      problem: 'too_large',
      message: `cannot read the policy ${file} (larger than 1000 bytes: 1001 bytes)`,
    });
    await expect(readInputFileAsync(file, { maxBytes: 1000, what: 'the policy' })).rejects.toThrow(/larger/);
    // /proc files report size 0 and hold more.
    expect(problemOf(() => readInputFile('/proc/self/status', { maxBytes: 10, what: 'x' })).problem).toBe(
      'too_large',
    );
    expect(readInputText('/proc/self/status', { maxBytes: 1 << 20, what: 'x' })).toMatch(/^Name:/);
  });

  it('names a missing file with ENOENT', () => {
    const file = join(dir(), 'nope.yaml');
    expect(problemOf(() => readInputFile(file, { maxBytes: 10, what: 'the config' }))).toEqual({
      problem: 'missing',
      message: `cannot read the config ${file} (ENOENT: no such file)`,
    });
  });
});
