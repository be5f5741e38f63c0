import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { ArmpriorError } from './errors.js';

/**
 * The most bytes armprior reads from one file of each kind a user can point it at (issue #17 §4:
 * `prior add /dev/zero` read 3.9 GB in 20 s and went on). Each is far above any real file of
 * the kind and far below what would take the machine down.
 */
export const INPUT_LIMITS = {
  /** A YAML config (robot, task, training, LLM, sandbox) or a small JSON record (run.json, a store's files). */
  config: 4 * 2 ** 20,
  /** A controller module (`prior add`). */
  code: 1 * 2 ** 20,
  /** One file of a robot's model folder (MJCF, a mesh, a texture); the folder as a whole has its own limit. */
  model: 200 * 2 ** 20,
  /** An ONNX policy: the largest actor the training config allows (4 × 1024) is about 13 MB. */
  policy: 64 * 2 ** 20,
  /** One episode file of a dataset (Parquet), a replay (JSON), a conversation or a run's metrics.jsonl. */
  record: 512 * 2 ** 20,
} as const;

/** Why a file given as input was not read. */
export type InputFileProblem = 'missing' | 'not_a_file' | 'too_large' | 'unreadable';

/**
 * A file given as input that cannot be read: missing, not a regular file (a folder, a device
 * such as /dev/zero, a FIFO), larger than its kind allows, or unreadable. Bad input (exit 2).
 */
export class InputFileError extends ArmpriorError {
  readonly file: string;
  readonly problem: InputFileProblem;
  /** The reason alone (`ENOENT`, `not a regular file (a character device)`, `larger than 1 MiB`). */
  readonly detail: string;
  constructor(
    what: string,
    file: string,
    problem: InputFileProblem,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super('input_file', `cannot read ${what} ${file} (${detail})`, options);
    this.file = file;
    this.problem = problem;
    this.detail = detail;
  }
}

export interface InputFileOptions {
  /** The most bytes to read: one of {@link INPUT_LIMITS}. */
  readonly maxBytes: number;
  /** What the file is, for messages: `the policy`, `the controller module`. */
  readonly what: string;
  /**
   * Refuse a symbolic link instead of following it (a store reading only its own files, so a
   * link planted in it cannot lead out; issue #17).
   */
  readonly noFollow?: boolean;
}

/**
 * Reads a file a user named, bounded: only a regular file (a device, FIFO or folder is refused
 * before anything is read; opened non-blocking so a FIFO cannot hang the open), and never more
 * than `maxBytes` (checked against its size first, then while reading, since a file in /proc
 * reports size 0 and a file may grow). The one way armprior reads user-given files.
 */
export function readInputFile(file: string, options: InputFileOptions): Buffer {
  let fd: number;
  try {
    fd = openSync(file, openFlags(options));
  } catch (cause) {
    throw openError(file, options.what, cause);
  }
  try {
    const read = new BoundedRead(file, options, checkedSize(file, options, fstatSync(fd)));
    let chunk = read.next();
    while (read.took(readSync(fd, chunk, 0, chunk.length, null))) chunk = read.next();
    return read.bytes();
  } catch (cause) {
    if (cause instanceof InputFileError) throw cause;
    throw new InputFileError(options.what, file, 'unreadable', errnoOf(cause), { cause });
  } finally {
    closeSync(fd);
  }
}

/** {@link readInputFile} as UTF-8 text. */
export function readInputText(file: string, options: InputFileOptions): string {
  return readInputFile(file, options).toString('utf8');
}

/** {@link readInputFile}, without blocking the event loop (large files: datasets). */
export async function readInputFileAsync(file: string, options: InputFileOptions): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, openFlags(options));
  } catch (cause) {
    throw openError(file, options.what, cause);
  }
  try {
    const read = new BoundedRead(file, options, checkedSize(file, options, await handle.stat()));
    let chunk = read.next();
    while (read.took((await handle.read(chunk, 0, chunk.length, null)).bytesRead)) chunk = read.next();
    return read.bytes();
  } catch (cause) {
    if (cause instanceof InputFileError) throw cause;
    throw new InputFileError(options.what, file, 'unreadable', errnoOf(cause), { cause });
  } finally {
    await handle.close();
  }
}

/** Human-readable size limit: `4 MiB`, `512 KiB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 20) return `${+(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 2 ** 10) return `${+(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** The chunks of one bounded read, the sync and the async reader alike. */
class BoundedRead {
  private readonly chunks: Buffer[] = [];
  private total = 0;
  private chunk: Buffer | undefined;
  constructor(
    private readonly file: string,
    private readonly options: InputFileOptions,
    private readonly size: number,
  ) {}

  /**
   * The buffer for the next read: the rest of the file as its size says (at least 64 KiB), and
   * never past the limit + 1: asking for one byte past it tells a file that grew (or reported
   * size 0, as files in /proc do) from one that fits.
   */
  next(): Buffer {
    const { maxBytes } = this.options;
    const length = Math.min(Math.max(this.size + 1 - this.total, 64 * 1024), maxBytes + 1 - this.total);
    this.chunk = Buffer.allocUnsafe(length);
    return this.chunk;
  }

  /** Takes the `n` bytes just read into the last buffer; false at the end of the file. */
  took(n: number): boolean {
    if (n === 0) return false;
    this.chunks.push(this.chunk!.subarray(0, n));
    this.total += n;
    if (this.total > this.options.maxBytes) throw tooLarge(this.file, this.options);
    return true;
  }

  bytes(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.total);
  }
}

function checkedSize(file: string, options: InputFileOptions, stats: Stats): number {
  if (!stats.isFile()) {
    throw new InputFileError(options.what, file, 'not_a_file', `not a regular file: ${kindOf(stats)}`);
  }
  if (stats.size > options.maxBytes) throw tooLarge(file, options, stats.size);
  return stats.size;
}

function tooLarge(file: string, options: InputFileOptions, size?: number): InputFileError {
  return new InputFileError(
    options.what,
    file,
    'too_large',
    `larger than ${formatBytes(options.maxBytes)}${size === undefined ? '' : `: ${formatBytes(size)}`}`,
  );
}

function openFlags(options: InputFileOptions): number {
  return constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0);
}

function openError(file: string, what: string, cause: unknown): InputFileError {
  const code = errnoOf(cause);
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new InputFileError(what, file, 'missing', `${code}: no such file`, { cause });
  if (code === 'EISDIR') return new InputFileError(what, file, 'not_a_file', 'EISDIR: a folder', { cause });
  if (code === 'ELOOP')
    return new InputFileError(what, file, 'not_a_file', 'a symbolic link, which is not followed here', {
      cause,
    });
  return new InputFileError(what, file, 'unreadable', code, { cause });
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

function errnoOf(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (cause instanceof Error ? cause.message : String(cause));
}
