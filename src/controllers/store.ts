import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArmpriorError } from '../core/errors.js';
import { INPUT_LIMITS, readInputText } from '../core/input-file.js';

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

const VERSION_DIR = /^v(\d+)$/;

/**
 * The controller store: `<root>/<task>/v<N>/` holds a version's code, the full request and
 * reply, the feedback that led to it and its evaluation; `<root>/<task>/active` names the
 * version `prior` means. Versions are written to a temporary folder and renamed into place, so a
 * crash never leaves a half-written version, and an existing version is never overwritten.
 */
export class PriorStore {
  constructor(readonly root: string) {}

  /** Version numbers of a task, ascending. */
  versions(task: string): number[] {
    const dir = join(this.root, task);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((name) => VERSION_DIR.exec(name)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** The pinned version, else the newest, else undefined (use the bundled prior). */
  active(task: string): number | undefined {
    const file = join(this.root, task, 'active');
    if (existsSync(file)) {
      const value = readInputText(file, { maxBytes: INPUT_LIMITS.config, what: 'the pinned version' }).trim();
      const match = VERSION_DIR.exec(value);
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
    const text = (name: string) =>
      existsSync(join(dir, name))
        ? readInputText(join(dir, name), { maxBytes: INPUT_LIMITS.record, what: 'the stored file' })
        : null;
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
      evaluation: json('evaluation.json'),
    };
  }

  /** Stores a new version (the next number) and returns its number. */
  create(task: string, prior: NewPrior): number {
    const taskDir = join(this.root, task);
    mkdirSync(taskDir, { recursive: true });
    const staging = join(taskDir, `.staging-${process.pid}-${Date.now()}`);
    mkdirSync(staging);
    try {
      for (;;) {
        const version = (this.versions(task).at(-1) ?? 0) + 1;
        const meta: PriorMeta = {
          task,
          version,
          createdAt: new Date().toISOString(),
          source: prior.source,
          parent: prior.parent ?? null,
          model: prior.model ?? null,
          attempts: prior.attempts ?? 1,
        };
        writeFileSync(join(staging, 'controller.js'), prior.code);
        writeFileSync(join(staging, 'reply.md'), prior.reply);
        writeFileSync(join(staging, 'request.json'), `${JSON.stringify(prior.request, null, 2)}\n`);
        if (prior.feedback) writeFileSync(join(staging, 'feedback.md'), `${prior.feedback}\n`);
        for (const [name, content] of Object.entries(prior.files ?? {}))
          writeFileSync(join(staging, name), content);
        writeFileSync(join(staging, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
        try {
          // rename refuses to replace a non-empty folder: a version another process just
          // created is never overwritten; take the next number instead.
          renameSync(staging, join(taskDir, `v${version}`));
          return version;
        } catch (error) {
          if (
            (error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' &&
            (error as NodeJS.ErrnoException).code !== 'EEXIST'
          ) {
            throw error;
          }
        }
      }
    } catch (cause) {
      rmSync(staging, { recursive: true, force: true });
      throw new PriorStoreError(`cannot store a new version of the '${task}' prior in ${taskDir}`, { cause });
    }
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

  private requireVersion(task: string, version: number): string {
    const dir = join(this.root, task, `v${version}`);
    if (!existsSync(dir)) {
      const known = this.versions(task);
      throw new PriorStoreError(
        `the '${task}' prior has no version v${version} in ${this.root}; ${known.length > 0 ? `versions: ${known.map((v) => `v${v}`).join(', ')}` : 'no versions yet (the bundled prior is used)'}`,
      );
    }
    return dir;
  }
}

/** Writes a file through a temporary name and a rename, so readers never see half a file. */
function atomicWrite(file: string, content: string): void {
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
}
