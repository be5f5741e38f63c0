import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ArmpriorError } from '../../core/errors.js';

/** The typed arrays a checkpoint can hold. */
export type CheckpointArray = Float64Array | Float32Array | Uint8Array;

/** What a checkpoint stores: plain JSON state and named typed arrays (weights, buffers). */
export interface CheckpointPayload {
  meta: Record<string, unknown>;
  arrays: Record<string, CheckpointArray>;
}

/** No usable checkpoint in a run folder (none written yet, or all of them damaged). */
export class CheckpointError extends ArmpriorError {
  constructor(message: string) {
    super('checkpoint_invalid', message);
  }
}

const DTYPES = { float64: Float64Array, float32: Float32Array, uint8: Uint8Array } as const;
type DType = keyof typeof DTYPES;

interface ArrayEntry {
  name: string;
  dtype: DType;
  byteOffset: number;
  length: number;
}

interface Manifest {
  format: 'armprior-checkpoint-1';
  step: number;
  files: Record<string, { bytes: number; sha256: string }>;
}

const PREFIX = 'ckpt-';
const CHECKPOINT_NAME = /^ckpt-\d{10}$/;

function checkpointName(step: number): string {
  return `${PREFIX}${String(step).padStart(10, '0')}`;
}

/**
 * Writes `payload` as `<checkpoints>/ckpt-<step>/` atomically: everything goes to a hidden
 * staging folder, each file is fsynced, the manifest (sizes and SHA-256 of every file) is
 * written last, and one rename makes the checkpoint visible. A process killed at any point
 * leaves either the complete checkpoint or a staging folder that loading ignores. Then all but
 * the newest `keep` complete checkpoints are deleted. Hand-written because no maintained
 * package writes a directory atomically with content hashes; the format is three small files.
 */
export function saveCheckpoint(
  checkpoints: string,
  step: number,
  payload: CheckpointPayload,
  keep: number,
): string {
  mkdirSync(checkpoints, { recursive: true });
  const final = join(checkpoints, checkpointName(step));
  // A checkpoint of this step exists only when a resume skipped it as damaged: keep it aside
  // for inspection rather than overwrite it.
  if (existsSync(final)) renameSync(final, `${final}.damaged-${Date.now()}`);
  const staging = join(checkpoints, `.staging-${checkpointName(step)}-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  const entries: ArrayEntry[] = [];
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const [name, array] of Object.entries(payload.arrays)) {
    const dtype = (Object.keys(DTYPES) as DType[]).find((d) => array instanceof DTYPES[d]);
    if (!dtype) throw new TypeError(`checkpoint array ${name} has an unsupported type`);
    // Align every array to 8 bytes so reading can view the file without copying.
    const pad = (8 - (offset % 8)) % 8;
    if (pad > 0) chunks.push(new Uint8Array(pad));
    offset += pad;
    entries.push({ name, dtype, byteOffset: offset, length: array.length });
    chunks.push(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    offset += array.byteLength;
  }
  const files: Manifest['files'] = {};
  const write = (file: string, parts: readonly Uint8Array[]) => {
    const hash = createHash('sha256');
    const fd = openSync(join(staging, file), 'w');
    let bytes = 0;
    try {
      for (const part of parts) {
        let done = 0;
        while (done < part.byteLength) done += writeSync(fd, part, done);
        hash.update(part);
        bytes += part.byteLength;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    files[file] = { bytes, sha256: hash.digest('hex') };
  };
  write('arrays.bin', chunks);
  write('index.json', [Buffer.from(JSON.stringify(entries))]);
  write('meta.json', [Buffer.from(JSON.stringify(payload.meta))]);
  const manifest: Manifest = { format: 'armprior-checkpoint-1', step, files };
  const fd = openSync(join(staging, 'manifest.json'), 'w');
  try {
    writeSync(fd, JSON.stringify(manifest, null, 2));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(staging, final);
  for (const old of listCheckpoints(checkpoints).slice(keep))
    rmSync(join(checkpoints, old), { recursive: true, force: true });
  return final;
}

/** Checkpoint folder names, newest first (staging folders excluded). */
export function listCheckpoints(checkpoints: string): string[] {
  if (!existsSync(checkpoints)) return [];
  return readdirSync(checkpoints)
    .filter((name) => CHECKPOINT_NAME.test(name))
    .sort()
    .reverse();
}

/** Reads one checkpoint, verifying every file against the manifest. Throws CheckpointError naming the problem. */
export function readCheckpoint(dir: string): CheckpointPayload & { step: number } {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (cause) {
    throw new CheckpointError(`${dir}: no readable manifest.json (${(cause as Error).message})`);
  }
  if (manifest.format !== 'armprior-checkpoint-1' || typeof manifest.files !== 'object') {
    throw new CheckpointError(`${dir}: manifest.json is not an armprior checkpoint manifest`);
  }
  const contents: Record<string, Buffer> = {};
  for (const [file, expected] of Object.entries(manifest.files)) {
    let data: Buffer;
    try {
      data = readFileSync(join(dir, file));
    } catch {
      throw new CheckpointError(`${dir}: ${file} is missing`);
    }
    if (data.byteLength !== expected.bytes) {
      throw new CheckpointError(
        `${dir}: ${file} has ${data.byteLength} bytes, the manifest says ${expected.bytes} (truncated?)`,
      );
    }
    if (createHash('sha256').update(data).digest('hex') !== expected.sha256) {
      throw new CheckpointError(`${dir}: ${file} does not match its checksum (corrupted)`);
    }
    contents[file] = data;
  }
  for (const required of ['arrays.bin', 'index.json', 'meta.json']) {
    if (!contents[required]) throw new CheckpointError(`${dir}: the manifest does not list ${required}`);
  }
  const entries = JSON.parse(contents['index.json']!.toString('utf8')) as ArrayEntry[];
  const blob = contents['arrays.bin']!;
  // Copy into an 8-byte-aligned buffer: Node's Buffer may sit at any offset of its pool.
  const aligned = new Uint8Array(blob.byteLength);
  aligned.set(blob);
  const arrays: Record<string, CheckpointArray> = {};
  for (const entry of entries) {
    const Type = DTYPES[entry.dtype];
    arrays[entry.name] = new Type(aligned.buffer, entry.byteOffset, entry.length);
  }
  const meta = JSON.parse(contents['meta.json']!.toString('utf8')) as Record<string, unknown>;
  return { step: manifest.step, meta, arrays };
}

/**
 * The newest checkpoint that verifies; damaged ones (truncated, corrupted, half-written) are
 * skipped and reported, never deleted or overwritten, so nothing is lost while a person looks.
 */
export function loadLatestCheckpoint(checkpoints: string): {
  dir: string;
  payload: CheckpointPayload & { step: number };
  skipped: { dir: string; reason: string }[];
} {
  const skipped: { dir: string; reason: string }[] = [];
  for (const name of listCheckpoints(checkpoints)) {
    const dir = join(checkpoints, name);
    try {
      return { dir, payload: readCheckpoint(dir), skipped };
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      skipped.push({ dir, reason: error.message });
    }
  }
  throw new CheckpointError(
    skipped.length === 0
      ? `no checkpoint in ${checkpoints} (the run was stopped before its first one)`
      : `no usable checkpoint in ${checkpoints}: ${skipped.map((s) => s.reason).join('; ')}`,
  );
}
