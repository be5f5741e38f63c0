import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { boundStrings } from '../core/bounded-text.js';
import { asDiskFull, writeFreshFile } from '../core/disk-full.js';
import { ArmpriorError, DiskFullError } from '../core/errors.js';
import { INPUT_LIMITS, InputFileError, readInputText } from '../core/input-file.js';

/** How a version came to be ('person': a module a person wrote or edited, `prior add`). */
export type PriorSource = 'llm' | 'bundled' | 'replay' | 'person';

/** What is kept with every version (meta.json). */
export interface PriorMeta {
  task: string;
  version: number;
  createdAt: string;
  source: PriorSource;
  /** The version this one was generated from (feedback rounds). */
  parent: number | null;
  model: string | null;
  /** LLM calls it took (extraction retries included). */
  attempts: number;
}

export interface StoredPrior {
  meta: PriorMeta;
  /** The controller module as run in the sandbox. */
  code: string;
  /** The LLM's full reply, as received. */
  reply: string;
  /** The exact request (messages and parameters, never the key), for offline replay. */
  request: unknown;
  /** The person's feedback that led to this version. */
  feedback: string | null;
  evaluation: unknown;
}

export interface NewPrior {
  code: string;
  reply: string;
  request: unknown;
  feedback?: string | null;
  parent?: number | null;
  source: PriorSource;
  model?: string | null;
  attempts?: number;
  /** More files to keep with the version (name → content), written with it atomically. */
  files?: Readonly<Record<string, string>>;
}

/** A version that does not exist, or a store that cannot be read or written. */
export class PriorStoreError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('prior_store', message, options);
  }
}

/** A version being made ({@link PriorStore.stage}): its number is reserved, no reader counts it yet. */
export interface StagedVersion {
  readonly task: string;
  readonly version: number;
  /** `<root>/<task>/.v<N>.staging/`: the version's files until {@link PriorStore.publish} renames it. */
  readonly dir: string;
  /** Where its evaluation's replays go; they become the version's with the rename. */
  readonly replaysDir: string;
}

const VERSION_DIR = /^v(\d+)$/;
const STAGING_DIR = /^\.v(\d+)\.staging$/;

/**
 * The controller store: `<root>/<task>/v<N>/` holds a version's code, the full request and
 * reply, the feedback that led to it and its evaluation; `<root>/<task>/active` names the
 * version `prior` means.
 *
 * A version is made in `.v<N>.staging/` (its number reserved by that folder), evaluated there,
 * and renamed to `v<N>/` only with its evaluation saved (issue #17): a crash, kill, full disk or
 * error before then leaves no version, so the previous one stays active. A folder left by a
 * killed process keeps its number (it is never reused) and can be deleted. Existing versions are
 * never overwritten; only real folders are versions (a symlink `v9 -> /etc` is not), and the
 * store's files are read without following symlinks.
 */
export class PriorStore {
  constructor(readonly root: string) {}

  /** Version numbers of a task, ascending. */
  versions(task: string): number[] {
    const dir = join(this.root, task);
    return this.numbered(task, VERSION_DIR)
      .filter(({ name }) => isRealDirectory(join(dir, name)))
      .map(({ number }) => number)
      .sort((a, b) => a - b);
  }

  /** The pinned version, else the newest, else undefined (use the bundled prior). */
  active(task: string): number | undefined {
    const pinned = readOwnFile(join(this.root, task, 'active'));
    if (pinned !== null) {
      const match = VERSION_DIR.exec(pinned.trim());
      if (match && this.versions(task).includes(Number(match[1]))) return Number(match[1]);
    }
    return this.versions(task).at(-1);
  }

  /** Pins `version` as the one `prior` means. */
  setActive(task: string, version: number): void {
    this.requireVersion(task, version);
    atomicWrite(join(this.root, task, 'active'), `v${version}\n`);
  }

  read(task: string, version: number): StoredPrior {
    const dir = this.requireVersion(task, version);
    const text = (name: string) => readOwnFile(join(dir, name));
    const json = (name: string) => {
      const raw = text(name);
      if (raw === null) return null;
      try {
        return JSON.parse(raw) as unknown;
      } catch (cause) {
        throw new PriorStoreError(`${join(dir, name)} is not valid JSON`, { cause });
      }
    };
    const code = text('controller.js');
    const meta = json('meta.json') as PriorMeta | null;
    if (code === null || meta === null)
      throw new PriorStoreError(`${dir} is incomplete (controller.js or meta.json missing)`);
    return {
      meta,
      code,
      reply: text('reply.md') ?? '',
      request: json('request.json'),
      feedback: text('feedback.md'),
      // Its strings hold controller output (failure messages in the summary and abort reasons):
      // bounded here, so one written before the sandbox bounded them cannot flood a prompt or
      // an API answer (issue #17).
      evaluation: boundStrings(json('evaluation.json')),
    };
  }

  /** Another file of a version (`conversation.json`, `exchanges.json`), null when it has none. */
  readFile(task: string, version: number, name: string): string | null {
    return readOwnFile(join(this.requireVersion(task, version), name));
  }

  /**
   * A fresh folder for replays recorded before it is known whether they are kept (a feedback
   * round's evaluation of its base, kept only if the round succeeds; see `appendSceneReplays`), not a
   * version. `discard` removes it and any folder made for it, so a failed round leaves nothing.
   */
  pendingReplays(task: string): { dir: string; discard: () => void } {
    const dir = join(this.root, task, `.pending-replays-${process.pid}-${Date.now()}`);
    let firstMade: string | undefined;
    try {
      firstMade = mkdirSync(dir, { recursive: true });
    } catch (cause) {
      throw storeFailure(cause, dir, `cannot create ${dir}`);
    }
    const discard = () => {
      rmSync(dir, { recursive: true, force: true });
      // The folders made for it, if still empty (rmdir refuses otherwise: nothing else is lost).
      for (
        let parent = dirname(dir);
        firstMade !== undefined && parent.length >= firstMade.length;
        parent = dirname(parent)
      ) {
        try {
          rmdirSync(parent);
        } catch {
          break;
        }
      }
    };
    return { dir, discard };
  }

  /**
   * Reserves the next version number and writes the version's files into its staging folder,
   * where nothing counts it; evaluate it there ({@link StagedVersion.replaysDir}), then
   * {@link publish} it with its evaluation, or {@link discard} it.
   */
  stage(task: string, prior: NewPrior): StagedVersion {
    const taskDir = join(this.root, task);
    try {
      mkdirSync(taskDir, { recursive: true });
    } catch (cause) {
      throw storeFailure(cause, taskDir, `cannot create ${taskDir}`);
    }
    for (let version = this.nextNumber(task); ; version++) {
      const dir = join(taskDir, `.v${version}.staging`);
      try {
        mkdirSync(dir);
      } catch (cause) {
        // Another process is making this number: take the next one.
        if ((cause as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw storeFailure(cause, dir, `cannot store a new version of the '${task}' prior in ${taskDir}`);
      }
      if (existsNoFollow(join(taskDir, `v${version}`))) {
        // Published since we listed (its staging folder was renamed before our mkdir).
        rmdirSync(dir);
        continue;
      }
      const staged: StagedVersion = { task, version, dir, replaysDir: join(dir, 'replays') };
      try {
        this.writeStaged(staged, prior);
      } catch (cause) {
        this.discard(staged);
        throw storeFailure(cause, dir, `cannot store a new version of the '${task}' prior in ${taskDir}`);
      }
      return staged;
    }
  }

  /** Saves a staged version's evaluation (its evaluation.json), before it is published. */
  saveStagedEvaluation(staged: StagedVersion, evaluation: unknown): void {
    writeFreshFile(join(staged.dir, 'evaluation.json'), `${JSON.stringify(evaluation, null, 2)}\n`);
  }

  /**
   * Saves a staged version's evaluation (unless undefined) and renames the folder to `v<N>/`:
   * from then on it is counted, and active unless another version is pinned.
   */
  publish(staged: StagedVersion, evaluation?: unknown): void {
    if (evaluation !== undefined) this.saveStagedEvaluation(staged, evaluation);
    const target = join(this.root, staged.task, `v${staged.version}`);
    try {
      renameSync(staged.dir, target);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') {
        // Only a writer that does not reserve numbers gets here; never overwrite its version.
        throw new PriorStoreError(
          `${target} appeared while v${staged.version} was being made; the new version is kept in ${staged.dir}`,
          { cause },
        );
      }
      throw storeFailure(cause, target, `cannot publish ${staged.dir} as ${target}`);
    }
  }

  /** Removes a staged version (a failed round): its number stays unused. */
  discard(staged: StagedVersion): void {
    rmSync(staged.dir, { recursive: true, force: true });
  }

  /**
   * Stores a new version (the next number) at once, with `evaluation` if given, and returns its
   * number. Rounds that evaluate a version use {@link stage} and {@link publish} instead.
   */
  create(task: string, prior: NewPrior, evaluation?: unknown): number {
    const staged = this.stage(task, prior);
    try {
      this.publish(staged, evaluation);
    } catch (error) {
      this.discard(staged);
      throw error;
    }
    return staged.version;
  }

  /**
   * Where the replays of a version's evaluations go: `<root>/<task>/v<N>/replays/`, or
   * `<root>/<task>/bundled/replays/` for the bundled prior (not a version: `versions()` ignores
   * the folder). Each evaluation appends its episodes; none is overwritten.
   */
  replaysDir(task: string, version: number | 'bundled'): string {
    return version === 'bundled'
      ? join(this.root, task, 'bundled', 'replays')
      : join(this.requireVersion(task, version), 'replays');
  }

  /** Attaches (or replaces) a version's evaluation. */
  saveEvaluation(task: string, version: number, evaluation: unknown): void {
    const dir = this.requireVersion(task, version);
    atomicWrite(join(dir, 'evaluation.json'), `${JSON.stringify(evaluation, null, 2)}\n`);
  }

  private writeStaged(staged: StagedVersion, prior: NewPrior): void {
    const meta: PriorMeta = {
      task: staged.task,
      version: staged.version,
      createdAt: new Date().toISOString(),
      source: prior.source,
      parent: prior.parent ?? null,
      model: prior.model ?? null,
      attempts: prior.attempts ?? 1,
    };
    const write = (name: string, content: string) => writeFreshFile(join(staged.dir, name), content);
    write('controller.js', prior.code);
    write('reply.md', prior.reply);
    write('request.json', `${JSON.stringify(prior.request, null, 2)}\n`);
    if (prior.feedback) write('feedback.md', `${prior.feedback}\n`);
    for (const [name, content] of Object.entries(prior.files ?? {})) write(name, content);
    write('meta.json', `${JSON.stringify(meta, null, 2)}\n`);
  }

  /** After every number in use: published, being made, or left by a killed round. */
  private nextNumber(task: string): number {
    const used = [...this.numbered(task, VERSION_DIR), ...this.numbered(task, STAGING_DIR)];
    return Math.max(0, ...used.map(({ number }) => number)) + 1;
  }

  /** Entries of a task folder whose names match `pattern`, with the number it captures. */
  private numbered(task: string, pattern: RegExp): { name: string; number: number }[] {
    const dir = join(this.root, task);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).flatMap((name) => {
      const match = pattern.exec(name);
      return match ? [{ name, number: Number(match[1]) }] : [];
    });
  }

  private requireVersion(task: string, version: number): string {
    const dir = join(this.root, task, `v${version}`);
    if (!isRealDirectory(dir)) {
      const known = this.versions(task);
      throw new PriorStoreError(
        `the '${task}' prior has no version v${version} in ${this.root}; ${known.length > 0 ? `versions: ${known.map((v) => `v${v}`).join(', ')}` : 'no versions yet (the bundled prior is used)'}`,
      );
    }
    return dir;
  }
}

/** A full disk as itself (one clear line), anything else as a store error saying what failed. */
function storeFailure(cause: unknown, path: string, message: string): Error {
  if (cause instanceof DiskFullError || cause instanceof PriorStoreError) return cause;
  const full = asDiskFull(cause, path);
  return full instanceof DiskFullError ? full : new PriorStoreError(message, { cause });
}

/** Whether `path` is a folder itself, not a symlink to one (which may lead out of the store). */
function isRealDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function existsNoFollow(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A file of the store as text, null when there is none. A symlink is refused, not followed: the
 * store only holds files it wrote, and a link (to /etc/passwd, say) would hand its target to
 * whoever reads the store, the viewer's API included.
 */
function readOwnFile(file: string): string | null {
  try {
    return readInputText(file, { maxBytes: INPUT_LIMITS.record, what: 'the stored file', noFollow: true });
  } catch (error) {
    if (error instanceof InputFileError && error.problem === 'missing') return null;
    throw error;
  }
}

/** Writes a file through a temporary name and a rename, so readers never see half a file. */
function atomicWrite(file: string, content: string): void {
  const temporary = `${file}.tmp-${process.pid}`;
  writeFreshFile(temporary, content, file);
  renameSync(temporary, file);
}
