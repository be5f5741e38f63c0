/**
 * Typed errors. Every error armprior raises on purpose is an {@link ArmpriorError} with a
 * stable `code`; the CLI (src/cli/exit.ts) is the only place that turns them into exit codes.
 */

/** Base class: a message meant for the user, a stable code, and the underlying cause. */
export class ArmpriorError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Input out of range or not fitting the command (an option's value, a request the command cannot
 * serve) where no more specific error applies. Bad input, not a bug: a RangeError or other plain
 * error thrown anywhere else is reported as a bug (src/cli/exit.ts; issue #18).
 */
export class BadInputError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_input', message, options);
  }
}

/** A config file (YAML) that is missing, unparsable or fails its schema. Lists every problem at once. */
export class ConfigError extends ArmpriorError {
  readonly file: string;
  readonly problems: readonly string[];
  constructor(file: string, problems: readonly string[], options?: { cause?: unknown }) {
    super(
      'config_invalid',
      `${file}: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}`}`,
      options,
    );
    this.file = file;
    this.problems = problems;
  }
}

/** An MJCF model MuJoCo refused to compile; carries MuJoCo's own message. */
export class MjcfError extends ArmpriorError {
  readonly file: string;
  readonly mujocoMessage: string;
  constructor(file: string, mujocoMessage: string, options?: { cause?: unknown }) {
    super('mjcf_invalid', `MuJoCo could not load ${file}: ${mujocoMessage}`, options);
    this.file = file;
    this.mujocoMessage = mujocoMessage;
  }
}

/** A model that compiled but lacks a part the robot config or task names (a joint, site, actuator…). */
export class ModelMismatchError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('model_mismatch', message, options);
  }
}

/** A name that is not in a registry (task, robot, controller); the message lists the known ones. */
export class UnknownNameError extends ArmpriorError {
  readonly known: readonly string[];
  constructor(kind: string, name: string, known: readonly string[]) {
    super(`unknown_${kind}`, `unknown ${kind} '${name}'; known ${kind}s: ${known.join(', ')}`);
    this.known = known;
  }
}

/** An action of the wrong length or with non-finite values. */
export class InvalidActionError extends ArmpriorError {
  constructor(message: string) {
    super('action_invalid', message);
  }
}

/** Misuse of an env's lifecycle: stepping before reset, using a closed env. */
export class EnvStateError extends ArmpriorError {
  constructor(message: string) {
    super('env_state', message);
  }
}

/** A failure inside a worker thread of a VecEnv, re-raised on the main thread. */
export class WorkerError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('worker_failed', message, options);
  }
}

/** The disk (or the user's quota) filled up while writing `file` (ENOSPC, EDQUOT): bad input from the environment. */
export class DiskFullError extends ArmpriorError {
  readonly file: string;
  constructor(file: string, options?: { cause?: unknown }) {
    super('disk_full', `no space left on device while writing ${file}`, options);
    this.file = file;
  }
}

/** What is wrong with a dataset, for callers that react to one kind (the message says it to people). */
export type DatasetProblem =
  | 'missing'
  | 'not_parquet'
  | 'truncated'
  | 'corrupt'
  | 'metadata'
  | 'missing_column'
  | 'column_type'
  | 'rows'
  | 'non_finite'
  | 'layout_mismatch'
  | 'goal_mismatch'
  | 'action_mismatch'
  | 'task_mismatch'
  | 'dataset_mismatch'
  | 'bad_step'
  | 'writer_state'
  | 'io';

/**
 * A recorded dataset (src/episodes/dataset) that cannot be read or written as asked: the message names
 * the file and the problem. Code `dataset_invalid` for what is on disk, `dataset_write` for a
 * writer used wrongly (a step of the wrong size, a step outside an episode).
 */
export class DatasetError extends ArmpriorError {
  /** The file or folder concerned. */
  readonly file: string;
  readonly problem: DatasetProblem;
  constructor(
    code: 'dataset_invalid' | 'dataset_write',
    problem: DatasetProblem,
    file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${file}: ${message}`, options);
    this.file = file;
    this.problem = problem;
  }
}

/** The message of anything thrown (an Error's message, else its string form). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
