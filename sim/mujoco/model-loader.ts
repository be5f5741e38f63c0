import { type Dirent, readdirSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { MjModel } from 'mujoco-js';
import { MjcfError } from '../../src/core/errors.js';
import { formatBytes, InputFileError, readInputFile } from '../../src/core/input-file.js';
import { type Mujoco, takeMujocoOutput } from './module.js';

/** Files copied with a robot's MJCF into mujoco-js's in-memory file system (meshes, includes). */
const MODEL_FILE_EXTENSIONS = new Set(['.xml', '.stl', '.obj', '.msh', '.png', '.skn', '.mjb']);
/** Refuse to copy a folder that is obviously not a model folder. */
const MAX_MODEL_FOLDER_BYTES = 200 * 1024 * 1024;
/**
 * Folder entries walked at most: an MJCF at the top of a home folder (or at `/`) would
 * otherwise walk the whole tree before the byte limit could say anything.
 */
const MAX_MODEL_FOLDER_ENTRIES = 20_000;

let loadCounter = 0;

/**
 * A model to compile: the MJCF text of the entry file, named for error messages, plus
 * host folders whose model files are made visible to it (a robot's MJCF and its meshes).
 */
export interface ModelSource {
  /** Name used in error messages (usually the scene's description and the robot file it includes). */
  readonly displayName: string;
  /** Text of the entry MJCF file. */
  readonly xml: string;
  /** Host files to copy in, keyed by the path the entry file refers to them by. */
  readonly files: ReadonlyMap<string, Uint8Array | string>;
}

/**
 * Compiles an MJCF model with mujoco-js and turns its silent failures into a {@link MjcfError}
 * carrying MuJoCo's own message:
 * - an XML syntax error makes `loadFromXML` return null and print the message to stdout;
 * - a schema or compile error throws a C++ exception whose text lives in wasm memory
 *   (`mjXError`/`mjCError` both begin with `char message[500]`).
 */
export function compileModel(mj: Mujoco, source: ModelSource): MjModel {
  const dir = `/armprior/${++loadCounter}`;
  const written: string[] = [];
  mkdirp(mj, dir);
  try {
    for (const [path, content] of source.files) {
      const full = join(dir, path);
      mkdirp(mj, dirname(full));
      mj.FS.writeFile(full, content);
      written.push(full);
    }
    const entry = join(dir, '__scene__.xml');
    mj.FS.writeFile(entry, source.xml);
    written.push(entry);
    takeMujocoOutput();
    let model: MjModel | null;
    try {
      model = mj.MjModel.loadFromXML(entry);
    } catch (error) {
      throw new MjcfError(source.displayName, cleanMessage(exceptionText(mj, error), dir), { cause: error });
    }
    if (!model) {
      const printed = takeMujocoOutput().join(' ').trim();
      throw new MjcfError(source.displayName, cleanMessage(printed || 'loadFromXML returned null', dir));
    }
    return model;
  } finally {
    // The in-memory files are only needed while compiling; free them.
    for (const path of written) {
      try {
        mj.FS.unlink(path);
      } catch {
        // A file that failed to write is simply absent: nothing to free.
      }
    }
  }
}

/**
 * Reads every model file (MJCF, meshes, textures) below `folder` for {@link ModelSource.files},
 * keyed by its path relative to `folder`, so a user's MJCF with `meshdir` and includes works.
 */
export function readModelFolder(folder: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let total = 0;
  let entries = 0;
  const walk = (dir: string): void => {
    let list: Dirent[];
    try {
      list = readdirSync(dir, { withFileTypes: true });
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code ?? String(cause);
      throw new MjcfError(folder, `cannot read the model folder ${dir} (${code})`, { cause });
    }
    for (const entry of list) {
      if (++entries > MAX_MODEL_FOLDER_ENTRIES) {
        throw new MjcfError(
          folder,
          `the model folder holds more than ${MAX_MODEL_FOLDER_ENTRIES} entries; put the robot's MJCF and its meshes in a folder of their own`,
        );
      }
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(full);
      } else if (MODEL_FILE_EXTENSIONS.has(extension(entry.name))) {
        // Bounded by what is left of the folder's budget; a device or FIFO is refused unread.
        let bytes: Buffer;
        try {
          bytes = readInputFile(full, { maxBytes: MAX_MODEL_FOLDER_BYTES - total, what: 'the model file' });
        } catch (cause) {
          if (!(cause instanceof InputFileError)) throw cause;
          throw new MjcfError(
            folder,
            cause.problem === 'too_large'
              ? `the model folder holds more than ${formatBytes(MAX_MODEL_FOLDER_BYTES)} of model files`
              : cause.message,
            { cause },
          );
        }
        total += bytes.length;
        files.set(relative(folder, full), bytes);
      }
    }
  };
  walk(folder);
  return files;
}

function extension(name: string): string {
  const base = basename(name).toLowerCase();
  const dot = base.lastIndexOf('.');
  return dot < 0 ? '' : base.slice(dot);
}

function mkdirp(mj: Mujoco, path: string): void {
  let current = '';
  for (const part of path.split('/').filter(Boolean)) {
    current += `/${part}`;
    try {
      mj.FS.mkdir(current);
    } catch {
      // Already exists.
    }
  }
}

/** Reads the `message` that MuJoCo's C++ exception objects start with, out of wasm memory. */
function exceptionText(mj: Mujoco, error: unknown): string {
  const ptr = (error as { excPtr?: unknown } | null)?.excPtr;
  const name = (error as { name?: unknown } | null)?.name;
  if (typeof ptr !== 'number') return error instanceof Error ? error.message : String(error);
  // HEAPU8 is not exported by mujoco-js; any typed view it hands out spans the whole wasm memory.
  const probe = new mj.DoubleBuffer(1);
  const heap = new Uint8Array((probe.GetView() as Float64Array).buffer);
  probe.delete();
  let end = ptr;
  while (end < heap.length && end < ptr + 1000 && heap[end] !== 0) end++;
  const text = new TextDecoder().decode(heap.subarray(ptr, end));
  try {
    (mj as unknown as { decrementExceptionRefcount(e: unknown): void }).decrementExceptionRefcount(error);
  } catch {
    // Freeing the exception is best effort; the message is what matters.
  }
  return text || String(name ?? 'unknown MuJoCo exception');
}

/** Drops the temporary folder from paths and folds MuJoCo's multi-line messages into one line. */
function cleanMessage(text: string, dir: string): string {
  return text
    .split(`${dir}/`)
    .join('')
    .replace(/__scene__\.xml/g, 'scene')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('; ');
}
