import { appendFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { envSpaces } from '../../../sim/env.js';
import { createTask } from '../../../sim/tasks/registry.js';
import { readYamlFile } from '../../core/config-file.js';
import { ArmpriorError } from '../../core/errors.js';
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
  status: 'running' | 'finished' | 'failed';
  started: string;
  updated: string;
  envSteps: number;
  message?: string;
}

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
  mkdirSync(dir, { recursive: true });
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

/** Writes a small file atomically (temp + rename): a reader never sees half of it. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, data);
  renameSync(temp, file);
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

  append(record: MetricsRecord): void {
    appendFileSync(this.file, `${JSON.stringify(record)}\n`);
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
