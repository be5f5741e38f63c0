import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ArmpriorError } from '../../core/errors.js';
import { INPUT_LIMITS, readInputText } from '../../core/input-file.js';
import { listCheckpoints } from '../train/checkpoint.js';
import { readRunConfig, readRunInfo, runFiles, writeFileAtomic } from '../train/run-dir.js';
import { runStatus } from '../train/run-lock.js';

// An experiment is hours to days of runs (issue #19's table: 3 seeds × up to 8 methods × 5
// tasks, the baselines at 3× the budget). `<out>/runs.json` records which run folder holds each
// (task, method, seed), so the same command run again, after a Ctrl-C, a crash or a reboot,
// reuses the finished runs, continues the interrupted ones from their checkpoints and trains only
// what is missing.

/** A manifest that cannot be read: it is left as it is, never overwritten. */
export class ExperimentManifestError extends ArmpriorError {
  constructor(message: string) {
    super('experiment_manifest_invalid', message);
  }
}

const HeldOutSchema = z
  .object({
    /** Held-out episode k was reset with seed + k. */
    seed: z.number().int(),
    /** One character per episode: 1 solved, 0 not. */
    successes: z.string().regex(/^[01]*$/),
  })
  .strict();

const EntrySchema = z
  .object({
    runDir: z.string().min(1),
    /** The prior it learned from (rlingua, bc): the run stands for its seed only with the same code. */
    prior: z.object({ label: z.string(), sha256: z.string() }).strict().optional(),
    /** Wall clock the run has trained for, over all its sittings. */
    wallClockSec: z.number().nonnegative(),
    /** The final policy on the held-out episodes, once scored (cleared when the run trains on). */
    heldOut: HeldOutSchema.optional(),
  })
  .strict();

/** The prior's row of one task: scored on the training evaluation's episodes and the held-out ones. */
const PriorEntrySchema = z
  .object({
    prior: z.object({ label: z.string(), sha256: z.string() }).strict(),
    robot: z.string(),
    training: HeldOutSchema,
    heldOut: HeldOutSchema,
    wallClockSec: z.number().nonnegative(),
  })
  .strict();

const ManifestSchema = z
  .object({
    version: z.literal(1),
    runs: z.record(z.string(), EntrySchema),
    priors: z.record(z.string(), PriorEntrySchema).default({}),
  })
  .strict();

export type PriorEntry = z.output<typeof PriorEntrySchema>;

export type ManifestEntry = z.output<typeof EntrySchema>;
export type PriorIdentity = NonNullable<ManifestEntry['prior']>;

/** What tells one prior's code from another's (a store's `v1` differs from another store's). */
export function priorIdentity(prior: { label: string; code: string }): PriorIdentity {
  return { label: prior.label, sha256: createHash('sha256').update(prior.code).digest('hex') };
}

/** What to do with a (task, method, seed) the manifest may already hold a run for. */
export type RunPlan =
  | { kind: 'reuse'; entry: ManifestEntry }
  | { kind: 'resume'; entry: ManifestEntry }
  | { kind: 'new'; why?: string };

export const runKey = (task: string, method: string, seed: number) => `${task}/${method}/${seed}`;

export class ExperimentManifest {
  private constructor(
    readonly file: string,
    private readonly runs: Record<string, ManifestEntry>,
    private readonly priors: Record<string, PriorEntry>,
  ) {}

  /** `<outDir>/runs.json`, or an empty manifest there if the experiment is new. */
  static open(outDir: string): ExperimentManifest {
    const file = join(outDir, 'runs.json');
    if (!existsSync(file)) return new ExperimentManifest(file, {}, {});
    const text = readInputText(file, { maxBytes: INPUT_LIMITS.config, what: "the experiment's run list" });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new ExperimentManifestError(
        `${file} is not valid JSON (${(cause as Error).message}); move it away to start the experiment afresh`,
      );
    }
    const parsed = ManifestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ExperimentManifestError(
        `${file} is not an armprior experiment's run list (${issue.path.join('.') || 'the file'}: ${issue.message}); move it away to start the experiment afresh`,
      );
    }
    return new ExperimentManifest(file, parsed.data.runs, parsed.data.priors);
  }

  get(key: string): ManifestEntry | undefined {
    return this.runs[key];
  }

  /** Records `entry` under `key` and writes the file at once (atomically: a crash leaves the old or the new one). */
  set(key: string, entry: ManifestEntry): void {
    this.runs[key] = entry;
    this.save();
  }

  /** The prior's row of `task`, if it was scored with this code on these episodes. */
  prior(
    task: string,
    robot: string,
    prior: PriorIdentity,
    training: readonly number[],
    heldOut: readonly number[],
  ) {
    const entry = this.priors[task];
    if (entry?.prior.sha256 !== prior.sha256 || entry.robot !== robot) return undefined;
    const trainingSuccesses = successesOn(entry.training, training);
    const heldOutSuccesses = successesOn(entry.heldOut, heldOut);
    if (!trainingSuccesses || !heldOutSuccesses) return undefined;
    return { training: trainingSuccesses, heldOut: heldOutSuccesses, wallClockSec: entry.wallClockSec };
  }

  setPrior(task: string, entry: PriorEntry): void {
    this.priors[task] = entry;
    this.save();
  }

  private save(): void {
    const data = { version: 1, runs: this.runs, priors: this.priors };
    writeFileAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`);
  }

  /**
   * Whether the run recorded under `key` can stand for it with `config` (the resolved training
   * config): reused when it finished with that config, resumed when it stopped before its end
   * with a checkpoint to continue from, else a new run (`why` says, when there was one).
   */
  plan(key: string, config: unknown, robot: string, prior: PriorIdentity | undefined): RunPlan {
    const entry = this.runs[key];
    if (!entry) return { kind: 'new' };
    const dir = entry.runDir;
    if (!existsSync(runFiles(dir).info)) return { kind: 'new', why: `${dir} is gone` };
    const info = readRunInfo(dir);
    if (info.robot !== robot) return { kind: 'new', why: `${dir} trained robot ${info.robot}` };
    if (entry.prior?.sha256 !== prior?.sha256) {
      return { kind: 'new', why: `${dir} learned from another prior (${entry.prior?.label ?? 'none'})` };
    }
    let saved: Record<string, unknown>;
    try {
      saved = readRunConfig(dir);
    } catch {
      return { kind: 'new', why: `${dir} has no readable config.yaml` };
    }
    // The saved config is YAML; compare it with the resolved one as plain data.
    const resolved = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
    if (!isDeepStrictEqual(withPriorPinnedAs(saved, resolved), resolved)) {
      return { kind: 'new', why: `${dir} was trained with another config` };
    }
    const status = runStatus(dir, info);
    if (status === 'finished') return { kind: 'reuse', entry };
    if (listCheckpoints(runFiles(dir).checkpoints).length === 0) {
      return { kind: 'new', why: `${dir} stopped before its first checkpoint` };
    }
    return { kind: 'resume', entry };
  }
}

/**
 * `saved` with a `rlingua.prior: active` read as the version `resolved` names. Runs trained before
 * the version was pinned in config.yaml say `active`; the prior's code was already compared by its
 * sha256 above, so which version `active` meant then is known, and such a run can be reused.
 */
function withPriorPinnedAs(saved: Record<string, unknown>, resolved: Record<string, unknown>) {
  const savedRlingua = saved.rlingua as Record<string, unknown> | undefined;
  const resolvedRlingua = resolved.rlingua as Record<string, unknown> | undefined;
  if (savedRlingua?.prior !== 'active' || resolvedRlingua?.prior === undefined) return saved;
  return { ...saved, rlingua: { ...savedRlingua, prior: resolvedRlingua.prior } };
}

type Successes = z.output<typeof HeldOutSchema>;

/** A record of successes as booleans, if it was scored on exactly `seeds` (consecutive from the first). */
export function successesOn(record: Successes | undefined, seeds: readonly number[]): boolean[] | undefined {
  if (!record || record.seed !== (seeds[0] ?? 0) || record.successes.length !== seeds.length)
    return undefined;
  return [...record.successes].map((c) => c === '1');
}

/** Successes on `seeds` (consecutive, as evaluationSeeds gives them) as a record. */
export function successRecord(seeds: readonly number[], successes: readonly boolean[]): Successes {
  return { seed: seeds[0] ?? 0, successes: successes.map((s) => (s ? '1' : '0')).join('') };
}
