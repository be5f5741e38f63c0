import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkOutputDir,
  checkOutputFile,
  OutputPathError,
  outputPathError,
  writeOutputFile,
} from './output-path.js';

const dir = () => mkdtempSync(join(tmpdir(), 'armprior-out-'));

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OutputPathError);
    return (error as Error).message;
  }
  throw new Error('expected the path to be refused');
}

describe('output paths (issue #17 §4: an unwritable output path is bad input)', () => {
  it('refuses /proc, a missing folder, a file in the way and a folder, naming the path', () => {
    expect(refusal(() => checkOutputFile('/proc/nope.onnx'))).toBe(
      'cannot write /proc/nope.onnx (files cannot be created in /proc)',
    );
    const root = dir();
    expect(refusal(() => checkOutputFile(join(root, 'no/such/x.onnx')))).toBe(
      `cannot write ${join(root, 'no/such/x.onnx')} (its folder ${join(root, 'no/such')} does not exist)`,
    );
    writeFileSync(join(root, 'file'), 'x');
    expect(refusal(() => checkOutputFile(join(root, 'file/x.onnx'), { createFolder: true }))).toBe(
      `cannot write ${join(root, 'file/x.onnx')} (${join(root, 'file')} is not a folder)`,
    );
    expect(refusal(() => checkOutputDir(join(root, 'file/sub')))).toMatch(/is not a folder/);
    expect(refusal(() => checkOutputFile(root))).toBe(`cannot write ${root} (EISDIR: it is a folder)`);
    // sysfs refuses new files even to root.
    expect(refusal(() => checkOutputDir('/sys/armprior-test'))).toMatch(
      /^cannot write \/sys\/armprior-test \((EACCES|EPERM|files cannot)/,
    );
    expect(refusal(() => checkOutputDir('/proc/armprior/demos'))).toMatch(
      /files cannot be created in \/proc/,
    );
  });

  it('accepts a writable place, creating nothing while checking', () => {
    const root = dir();
    checkOutputFile(join(root, 'policy.onnx'));
    checkOutputFile(join(root, 'new/deeper/curves.svg'), { createFolder: true });
    checkOutputDir(join(root, 'demos/2026'));
    checkOutputDir(root);
    expect(readdirSync(root)).toEqual([]);
  });

  it('writes atomically, and a failed write is an OutputPathError leaving nothing behind', () => {
    const root = dir();
    writeOutputFile(join(root, 'a/b.md'), 'hello', { createFolder: true });
    expect(readFileSync(join(root, 'a/b.md'), 'utf8')).toBe('hello');
    expect(refusal(() => writeOutputFile(join(root, 'missing/b.md'), 'x'))).toMatch(
      /^cannot write .*missing\/b\.md \(ENOENT/,
    );
    expect(refusal(() => writeOutputFile('/proc/nope.onnx', 'x'))).toMatch(
      /^cannot write \/proc\/nope\.onnx/,
    );
    mkdirSync(join(root, 'taken'));
    expect(refusal(() => writeOutputFile(join(root, 'taken'), 'x'))).toMatch(/EISDIR|EEXIST/);
    expect(readdirSync(root).sort()).toEqual(['a', 'taken']);
    expect(existsSync(join(root, 'missing'))).toBe(false);
  });

  it('names the errno of a read-only file system and leaves other errors alone', () => {
    expect(outputPathError('/mnt/ro/x', Object.assign(new Error('x'), { code: 'EROFS' }))?.message).toBe(
      'cannot write /mnt/ro/x (EROFS: read-only file system)',
    );
    expect(outputPathError('/x', new TypeError('a bug'))).toBeUndefined();
  });
});
