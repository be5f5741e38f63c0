import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { envSpaces } from '../../../sim/env.js';
import { createTask } from '../../../sim/tasks/registry.js';
import { readYamlFile } from '../../core/config-file.js';
import { asDiskFull } from '../../core/disk-full.js';
import { ArmpriorError, messageOf } from '../../core/errors.js';
import { INPUT_LIMITS, readInputText } from '../../core/input-file.js';

/** A run folder that cannot be used (missing, or not a run). */
export class RunDirError extends ArmpriorError {
  constructor(message: string) {
    super('run_invalid', message);
  }
}

/** What run.json says about a run. */
export interface RunInfo {
  task: string;
  robot: string;
  algo: string;
  seed: number;
  /** Network input (observation + goal) and action sizes, checked on resume and export. */
  inputSize: number;
  actionSize: number;
  /**
   * As the trainer last wrote it: `interrupted` when it stopped on request (Ctrl-C), resumable.
   * A trainer killed outright leaves `running`: readers ask {@link runStatus} (run-lock.ts),
   * which says `interrupted` when no live process holds the run's lock.
   */
  status: RunStatus;
  started: string;
  updated: string;
  envSteps: number;
  message?: string;
}

/** Where a run stands: training, done, stopped on an error, or stopped before its end (resumable). */
export type RunStatus = 'running' | 'finished' | 'failed' | 'interrupted';

/** One line of metrics.jsonl: a group ('train' or 'eval'), the env step, and `<group>/<name>` values. */
export interface MetricsRecord {
  kind: 'train' | 'eval';
  step: number;
  [key: string]: number | string;
}

/** run.json of a run that is starting now. */
export function newRunInfo(task: string, robot: string, algo: string, seed: number): RunInfo {
  const spaces = envSpaces(createTask(task));
  const now = new Date().toISOString();
  return {
    task,
    robot,
    algo,
    seed,
    inputSize: spaces.observation + spaces.goal,
    actionSize: spaces.action,
    status: 'running',
    started: now,
    updated: now,
    envSteps: 0,
  };
}

/** `runs/<task>__<algo>__<seed>__<yyyymmdd-hhmmss>` (UTC), with a suffix if that exists already. */
export function newRunDir(root: string, task: string, algo: string, seed: number, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const base = join(root, `${task}__${algo}__${seed}__${stamp}`);
  let dir = base;
  for (let k = 2; existsSync(dir); k++) dir = `${base}-${k}`;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw asDiskFull(error, dir);
  }
  return dir;
}

export const runFiles = (dir: string) => ({
  config: join(dir, 'config.yaml'),
  info: join(dir, 'run.json'),
  metrics: join(dir, 'metrics.jsonl'),
  checkpoints: join(dir, 'checkpoints'),
  policy: join(dir, 'policy.onnx'),
  /** The policy of the best evaluation so far (src/rl/train/best-policy.ts). */
  bestPolicy: join(dir, 'best-policy.onnx'),
});

/**
 * Writes a small file atomically (temp + rename): a reader never sees half of it. A failed
 * write leaves no temp file behind, and a full disk is a DiskFullError naming `file`.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const temp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(temp, data);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw asDiskFull(error, file);
  }
}

export function writeRunConfig(dir: string, config: unknown): void {
  writeFileAtomic(runFiles(dir).config, stringify(config));
}

/** The run's saved config.yaml, as written (validated by the caller with the preset merged in). */
export function readRunConfig(dir: string): Record<string, unknown> {
  return readYamlFile(runFiles(dir).config, "the run's config") as Record<string, unknown>;
}

export function writeRunInfo(dir: string, info: RunInfo): void {
  writeFileAtomic(runFiles(dir).info, `${JSON.stringify(info, null, 2)}\n`);
}

/**
 * Records in run.json that the run stopped on `error` (status `failed`, its message). Never
 * throws: the error that stopped the run is the one to report, not a later failure to record it
 * (on a full disk both fail; issue #17). Returns that later failure, if there was one.
 */
export function recordRunFailure(dir: string, info: RunInfo, error: unknown): unknown {
  try {
    writeRunInfo(dir, {
      ...info,
      status: 'failed',
      updated: new Date().toISOString(),
      message: messageOf(error),
    });
    return undefined;
  } catch (failure) {
    return failure;
  }
}

export function readRunInfo(dir: string): RunInfo {
  const file = runFiles(dir).info;
  if (!existsSync(file)) throw new RunDirError(`${dir} is not an armprior run folder (no run.json)`);
  const text = readInputText(file, { maxBytes: INPUT_LIMITS.config, what: "the run's info" });
  try {
    return JSON.parse(text) as RunInfo;
  } catch (cause) {
    throw new RunDirError(`${file} is not valid JSON (${(cause as Error).message})`);
  }
}

/** Appends metrics lines; one line per record, so a killed run leaves at most a partial last line. */
export class MetricsLog {
  constructor(readonly file: string) {}

  /** Appends one record; a write that fails midway (a full disk) takes its partial line back. */
  append(record: MetricsRecord): void {
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    let fd: number | undefined;
    let size = 0;
    try {
      fd = openSync(this.file, 'a');
      size = fstatSync(fd).size;
      for (let done = 0; done < line.byteLength; ) done += writeSync(fd, line, done);
    } catch (error) {
      if (fd !== undefined) {
        try {
          ftruncateSync(fd, size);
        } catch {
          // The append's own error is the one to report; readers skip a torn last line anyway.
        }
      }
      throw asDiskFull(error, this.file);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /**
   * On resume: keeps the records up to `step` (those the checkpoint already accounts for) and
   * drops later ones and any partial last line, so the resumed run writes them again and the
   * file reads as one uninterrupted run. Replaced atomically. Returns the records kept.
   */
  truncateAfter(step: number): MetricsRecord[] {
    if (!existsSync(this.file)) return [];
    const kept = readMetrics(this.file).filter((r) => r.step <= step);
    writeFileAtomic(this.file, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return kept;
  }
}

/** Reads metrics.jsonl, skipping a partial last line (a run killed mid-write). */
export function readMetrics(file: string): MetricsRecord[] {
  const records: MetricsRecord[] = [];
  for (const line of readInputText(file, { maxBytes: INPUT_LIMITS.record, what: 'the metrics' }).split(
    '\n',
  )) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as MetricsRecord);
    } catch {
      // only a torn last line can fail to parse; the records before it are whole
    }
  }
  return records;
}
