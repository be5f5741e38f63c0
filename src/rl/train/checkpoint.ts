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
import { basename, join } from 'node:path';
import { z } from 'zod';
import { asDiskFull } from '../../core/disk-full.js';
import { ArmpriorError, messageOf } from '../../core/errors.js';

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

const count = z.number().int().nonnegative();

/** index.json: where each array lies in arrays.bin. */
const IndexSchema = z.array(
  z.object({
    name: z.string().min(1),
    dtype: z.enum(Object.keys(DTYPES) as [DType, ...DType[]]),
    byteOffset: count,
    length: count,
  }),
);
type ArrayEntry = z.infer<typeof IndexSchema>[number];

const ManifestSchema = z.object({
  format: z.literal('armprior-checkpoint-1'),
  step: count,
  files: z.record(
    // Plain file names: a manifest cannot make the reader open files outside the checkpoint.
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    z.object({ bytes: count, sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  ),
});
type Manifest = z.infer<typeof ManifestSchema>;

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
  const final = join(checkpoints, checkpointName(step));
  const staging = join(checkpoints, `.staging-${checkpointName(step)}-${process.pid}`);
  try {
    mkdirSync(checkpoints, { recursive: true });
    // A checkpoint of this step exists only when a resume skipped it as damaged: keep it aside
    // for inspection rather than overwrite it.
    if (existsSync(final)) renameSync(final, `${final}.damaged-${Date.now()}`);
    rmSync(staging, { recursive: true, force: true });
    writeStaging(staging, step, payload);
    renameSync(staging, final);
  } catch (error) {
    // Nothing half-written stays behind (a full disk gets its space back), and the error names
    // the checkpoint being written: issue #17.
    rmSync(staging, { recursive: true, force: true });
    throw asDiskFull(error, final);
  }
  for (const old of listCheckpoints(checkpoints).slice(keep))
    rmSync(join(checkpoints, old), { recursive: true, force: true });
  return final;
}

/** Writes the checkpoint's files into `staging`: arrays, index, meta, then the manifest, each fsynced. */
function writeStaging(staging: string, step: number, payload: CheckpointPayload): void {
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
}

/** Checkpoint folder names, newest first (staging folders excluded). */
export function listCheckpoints(checkpoints: string): string[] {
  if (!existsSync(checkpoints)) return [];
  return readdirSync(checkpoints)
    .filter((name) => CHECKPOINT_NAME.test(name))
    .sort()
    .reverse();
}

/**
 * Reads one checkpoint, verifying every file against the manifest, then its content: index
 * entries that lie inside arrays.bin, meta.json an object. Throws CheckpointError naming the
 * problem, so a checkpoint whose files verify but whose content is malformed is treated like a
 * corrupted one (issue #17).
 */
export function readCheckpoint(dir: string): CheckpointPayload & { step: number } {
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch (cause) {
    throw new CheckpointError(`${dir}: no readable manifest.json (${messageOf(cause)})`);
  }
  const parsedManifest = ManifestSchema.safeParse(manifestJson);
  if (!parsedManifest.success) {
    throw new CheckpointError(
      `${dir}: manifest.json is not an armprior checkpoint manifest (${describeIssues(parsedManifest.error)})`,
    );
  }
  const manifest: Manifest = parsedManifest.data;
  const named = /^ckpt-(\d+)$/.exec(basename(dir));
  if (named && Number(named[1]) !== manifest.step) {
    throw new CheckpointError(`${dir}: the manifest says step ${manifest.step}, the folder name ${named[1]}`);
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
  const entries = readIndex(dir, contents['index.json']!, contents['arrays.bin']!.byteLength);
  const blob = contents['arrays.bin']!;
  // Copy into an 8-byte-aligned buffer: Node's Buffer may sit at any offset of its pool.
  const aligned = new Uint8Array(blob.byteLength);
  aligned.set(blob);
  const arrays: Record<string, CheckpointArray> = {};
  for (const entry of entries) {
    const Type = DTYPES[entry.dtype];
    arrays[entry.name] = new Type(aligned.buffer, entry.byteOffset, entry.length);
  }
  const meta = parseJson(dir, 'meta.json', contents['meta.json']!);
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new CheckpointError(`${dir}: meta.json is not a JSON object`);
  }
  return { step: manifest.step, meta: meta as Record<string, unknown>, arrays };
}

/** index.json, checked: every array of a known type, aligned, and inside arrays.bin (`blobBytes`). */
function readIndex(dir: string, text: Buffer, blobBytes: number): ArrayEntry[] {
  const parsed = IndexSchema.safeParse(parseJson(dir, 'index.json', text));
  if (!parsed.success) {
    throw new CheckpointError(`${dir}: index.json is malformed (${describeIssues(parsed.error)})`);
  }
  const seen = new Set<string>();
  for (const entry of parsed.data) {
    const bytesPerValue = DTYPES[entry.dtype].BYTES_PER_ELEMENT;
    const end = entry.byteOffset + entry.length * bytesPerValue;
    if (seen.has(entry.name)) throw new CheckpointError(`${dir}: index.json lists ${entry.name} twice`);
    seen.add(entry.name);
    if (entry.byteOffset % bytesPerValue !== 0 || end > blobBytes) {
      throw new CheckpointError(
        `${dir}: index.json puts ${entry.name} at bytes ${entry.byteOffset}–${end} (${entry.dtype}), outside arrays.bin's ${blobBytes} bytes or misaligned`,
      );
    }
  }
  return parsed.data;
}

function parseJson(dir: string, file: string, text: Buffer): unknown {
  try {
    return JSON.parse(text.toString('utf8'));
  } catch (cause) {
    throw new CheckpointError(`${dir}: ${file} is not JSON (${messageOf(cause)})`);
  }
}

/** The first few problems zod found, as `path: message`. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const issues = error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return issues.length > max ? `${issues.slice(0, max).join('; ')}; …` : issues.join('; ');
}

/**
 * The newest checkpoint that verifies; damaged ones (truncated, corrupted, half-written, or
 * with content `parse` refuses) are skipped and reported, never deleted or overwritten, so
 * nothing is lost while a person looks. `parse` checks what the caller stores in a checkpoint
 * and throws CheckpointError for content it cannot use.
 */
export function loadLatestCheckpoint<T = undefined>(
  checkpoints: string,
  parse: (payload: CheckpointPayload & { step: number }, dir: string) => T = () => undefined as T,
): {
  dir: string;
  payload: CheckpointPayload & { step: number };
  parsed: T;
  skipped: { dir: string; reason: string }[];
} {
  const skipped: { dir: string; reason: string }[] = [];
  for (const name of listCheckpoints(checkpoints)) {
    const dir = join(checkpoints, name);
    try {
      const payload = readCheckpoint(dir);
      return { dir, payload, parsed: parse(payload, dir), skipped };
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
