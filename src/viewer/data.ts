import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { taskNames } from '../../sim/tasks/registry.js';
import { bundledReply } from '../controllers/priors.js';
import { PriorStore, type StoredPrior } from '../controllers/store.js';
import { INPUT_LIMITS, readInputText } from '../core/input-file.js';
import { isSceneReplayFileName, sceneReplayFileNames } from '../episodes/scene/scene-replay-files.js';
import { extractCode } from '../prompts/extract.js';
import type { RunInfo } from '../rl/train/run-dir.js';
import { runStatus } from '../rl/train/run-lock.js';
import type {
  EvaluationSummary,
  PriorsResponse,
  PriorVersionResponse,
  PriorVersionSummary,
  ReplaySource,
  ReplaysResponse,
  RunSummary,
  TasksResponse,
} from './api-types.js';
import { isSafeSegment, resolveInside } from './safe-path.js';

const VERSION_SPEC = /^v(\d+)$/;

/**
 * Read access to the viewer's two data roots: the controller store (`--priors`, layout of
 * src/controllers/store.ts) and the run folders (`--runs`, src/rl/train/run-dir.ts), with the
 * replays kept inside both (src/episodes/scene/scene-replay-format.ts). Every file it opens is reached through
 * {@link resolveInside}, so request parameters cannot lead outside the roots.
 */
export class ViewerData {
  readonly store: PriorStore;

  constructor(
    readonly priorsRoot: string,
    readonly runsRoot: string,
  ) {
    this.store = new PriorStore(priorsRoot);
  }

  /** Whether `task` is a registered task (request parameters name tasks exactly, no aliases). */
  isTask(task: string): boolean {
    return taskNames().includes(task);
  }

  /** Every registered task, with how many prior versions, runs and recorded episodes it has. */
  tasks(): TasksResponse {
    const runs = this.runList();
    return {
      tasks: taskNames().map((name) => ({
        name,
        versions: this.versions(name).length,
        runs: runs.filter((r) => r.task === name).length,
        episodes: this.replays(name).sources.reduce((n, s) => n + s.episodes.length, 0),
      })),
    };
  }

  /** A task's versions, the active one and its evaluation; undefined for an unknown task. */
  priors(task: string): PriorsResponse | undefined {
    if (!this.isTask(task)) return undefined;
    const versions = this.versions(task)
      .map((v) => this.readVersion(task, v))
      .filter((p): p is StoredPrior => p !== undefined)
      .map(versionSummary);
    const safe = this.versions(task);
    const pinned = this.store.active(task);
    const active = pinned !== undefined && safe.includes(pinned) ? pinned : (safe.at(-1) ?? null);
    const activeEvaluation =
      active === null ? null : evaluationSummary(this.readVersion(task, active)?.evaluation);
    return { task, active, bundled: hasBundled(task), versions, activeEvaluation };
  }

  /** One version (`vN` or `bundled`) with its code and the diff against its parent. */
  priorVersion(task: string, spec: string): PriorVersionResponse | undefined {
    if (!this.isTask(task)) return undefined;
    if (spec === 'bundled') {
      const code = bundledCode(task);
      if (code === undefined) return undefined;
      return {
        task,
        version: 'bundled',
        code,
        meta: null,
        evaluation: null,
        feedback: null,
        diff: null,
        diffBase: null,
      };
    }
    const match = VERSION_SPEC.exec(spec);
    if (!match) return undefined;
    const version = Number(match[1]);
    const stored = this.readVersion(task, version);
    if (!stored) return undefined;
    // A feedback round on the bundled prior stores parent null but keeps its feedback: diff
    // against the bundled code then, so every feedback version shows what it changed.
    let baseLabel: string | null = null;
    let baseCode: string | undefined;
    if (stored.meta.parent !== null) {
      baseLabel = `v${stored.meta.parent}`;
      baseCode = this.readVersion(task, stored.meta.parent)?.code;
    } else if (stored.feedback !== null) {
      baseLabel = 'bundled';
      baseCode = bundledCode(task);
    }
    const diff =
      baseLabel !== null && baseCode !== undefined
        ? createTwoFilesPatch(`${task} ${baseLabel}`, `${task} v${version}`, baseCode, stored.code, '', '', {
            context: 3,
          })
        : null;
    return {
      task,
      version,
      code: stored.code,
      meta: versionSummary(stored),
      evaluation: evaluationSummary(stored.evaluation),
      feedback: stored.feedback,
      diff,
      diffBase: diff === null ? null : baseLabel,
    };
  }

  /** Replay sources of a task (its prior versions, then its runs), optionally only `source`. */
  replays(task: string, source?: string): ReplaysResponse {
    const sources: ReplaySource[] = [];
    const add = (id: string, label: string, idPrefix: string, dir: string | undefined) => {
      if (source !== undefined && source !== id) return;
      const episodes = replayFiles(dir).map((name) => ({ id: `${idPrefix}/${name}`, name }));
      if (episodes.length > 0) sources.push({ source: id, label, episodes });
    };
    for (const version of [...this.versions(task)].reverse()) {
      add(
        `prior:v${version}`,
        `prior v${version}`,
        `priors/${task}/v${version}`,
        resolveInside(this.priorsRoot, task, `v${version}`, 'replays'),
      );
    }
    add('prior:bundled', 'prior (bundled)', `priors/${task}/bundled`, this.bundledReplaysDir(task));
    for (const run of this.runList().filter((r) => r.task === task)) {
      add(
        `run:${run.name}`,
        `${run.algo} seed ${run.seed} (${run.name})`,
        `runs/${run.name}`,
        resolveInside(this.runsRoot, run.name, 'replays'),
      );
    }
    return { task, sources };
  }

  /**
   * The file of a replay id: `priors/<task>/<vN|bundled>/<file>` or `runs/<run>/<file>`
   * (segments already split and decoded). Undefined when there is no such replay.
   */
  replayPath(segments: readonly string[]): string | undefined {
    const [kind, ...rest] = segments;
    const file = rest.at(-1);
    if (file === undefined || !isSceneReplayFileName(file)) return undefined;
    if (kind === 'priors' && rest.length === 3) {
      const [task, version] = rest as [string, string, string];
      if (version !== 'bundled' && !VERSION_SPEC.test(version)) return undefined;
      return resolveInside(this.priorsRoot, task, version, 'replays', file);
    }
    if (kind === 'runs' && rest.length === 2) return resolveInside(this.runsRoot, rest[0]!, 'replays', file);
    return undefined;
  }

  /** The run folders (those with a readable run.json), by name. */
  runs(): { runs: RunSummary[] } {
    return { runs: this.runList() };
  }

  /**
   * Real paths of the named run folders; undefined if any is not a run. The same guard as the
   * run list, and the files the curves read (run.json, metrics.jsonl) must be inside the folder
   * too: a symlinked run.json led out of `--runs` (issue #17).
   */
  runDirs(names: readonly string[]): string[] | undefined {
    const dirs: string[] = [];
    for (const name of names) {
      const run = this.run(name);
      if (run === undefined) return undefined;
      if (existsSync(join(run.dir, 'metrics.jsonl')) && !resolveInside(run.dir, 'metrics.jsonl'))
        return undefined;
      dirs.push(run.dir);
    }
    return dirs;
  }

  /** Stored versions whose folders really are inside the store (not symlinks leading out). */
  private versions(task: string): number[] {
    if (!isSafeSegment(task)) return [];
    return this.store
      .versions(task)
      .filter((v) => resolveInside(this.priorsRoot, task, `v${v}`) !== undefined);
  }

  private readVersion(task: string, version: number): StoredPrior | undefined {
    if (resolveInside(this.priorsRoot, task, `v${version}`) === undefined) return undefined;
    try {
      return this.store.read(task, version);
    } catch {
      // An incomplete or unreadable version is shown as absent rather than failing the page.
      return undefined;
    }
  }

  private bundledReplaysDir(task: string): string | undefined {
    return resolveInside(this.priorsRoot, task, 'bundled', 'replays');
  }

  private runList(): RunSummary[] {
    if (!existsSync(this.runsRoot)) return [];
    return readdirSync(this.runsRoot)
      .sort()
      .flatMap((name) => {
        const run = isSafeSegment(name) ? this.run(name) : undefined;
        return run ? [run.summary] : [];
      });
  }

  /**
   * The run folder `name`, when it is one: a plain name, its real path inside `--runs`, and a
   * run.json whose real path is inside the folder and that parses. The one guard every route
   * naming a run goes through.
   */
  private run(name: string): { dir: string; summary: RunSummary } | undefined {
    const dir = resolveInside(this.runsRoot, name);
    const infoFile = dir && resolveInside(dir, 'run.json');
    if (!dir || !infoFile) return undefined;
    try {
      const info = JSON.parse(
        readInputText(infoFile, { maxBytes: INPUT_LIMITS.config, what: "the run's info" }),
      ) as RunInfo;
      return {
        dir,
        summary: {
          name,
          task: String(info.task),
          algo: String(info.algo),
          seed: Number(info.seed),
          // `interrupted` for a run.json that says running while no live process holds the run.
          status: runStatus(dir, { status: info.status }),
          envSteps: Number(info.envSteps),
          updated: String(info.updated),
        },
      };
    } catch {
      // run.json is replaced atomically; a folder whose file does not parse is not a run
      return undefined;
    }
  }
}

/** A folder's replay files in index order (numerically: episode-1000000 after episode-999999). */
function replayFiles(dir: string | undefined): string[] {
  return dir === undefined ? [] : sceneReplayFileNames(dir);
}

function hasBundled(task: string): boolean {
  return bundledCode(task) !== undefined;
}

function bundledCode(task: string): string | undefined {
  try {
    return extractCode(bundledReply(task)).code;
  } catch {
    return undefined;
  }
}

function versionSummary(p: StoredPrior): PriorVersionSummary {
  const evaluation = evaluationSummary(p.evaluation);
  return {
    version: p.meta.version,
    parent: p.meta.parent,
    source: p.meta.source,
    model: p.meta.model,
    createdAt: p.meta.createdAt,
    feedback: p.feedback === null ? null : p.feedback.trim(),
    successRate: evaluation?.successRate ?? null,
    episodes: evaluation?.episodes ?? null,
  };
}

/** The shown part of an evaluation.json (see evaluationRecord in src/controllers/prior-rounds.ts). */
function evaluationSummary(evaluation: unknown): EvaluationSummary | null {
  if (typeof evaluation !== 'object' || evaluation === null) return null;
  const e = evaluation as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    successRate: num(e.successRate),
    episodes: num(e.episodes),
    meanReturn: num(e.meanReturn),
    summary: typeof e.summary === 'string' ? e.summary : '',
  };
}
