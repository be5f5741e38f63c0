/**
 * The JSON shapes of the viewer's API (`armprior view`, issue #6), shared by the server
 * (src/viewer/server.ts) and the page (src/viewer/page/), so both sides agree at compile time.
 * Types only: this file is bundled into the page and must not import Node modules.
 */

/** GET /api/tasks */
export interface TasksResponse {
  /** `episodes`: recorded episodes (replays) of its prior versions and runs. */
  tasks: { name: string; versions: number; runs: number; episodes: number }[];
}

/** One stored version in GET /api/priors/:task. */
export interface PriorVersionSummary {
  version: number;
  parent: number | null;
  source: string;
  model: string | null;
  createdAt: string;
  /** The person's feedback that led to this version. */
  feedback: string | null;
  successRate: number | null;
  episodes: number | null;
}

/** GET /api/priors/:task */
export interface PriorsResponse {
  task: string;
  /** The version `prior` means; null: the bundled prior. */
  active: number | null;
  /** Whether armprior ships a bundled prior for the task. */
  bundled: boolean;
  versions: PriorVersionSummary[];
  /** The active prior's evaluation: success rate and the rollout critic's failure summary. */
  activeEvaluation: EvaluationSummary | null;
}

/** The parts of a version's evaluation.json the page shows. */
export interface EvaluationSummary {
  successRate: number | null;
  episodes: number | null;
  meanReturn: number | null;
  /** The rollout critic's text: outcomes and failure examples. */
  summary: string;
}

/** GET /api/priors/:task/:version (`vN` or `bundled`) */
export interface PriorVersionResponse {
  task: string;
  version: number | 'bundled';
  code: string;
  meta: PriorVersionSummary | null;
  evaluation: EvaluationSummary | null;
  feedback: string | null;
  /** Unified diff of the code against the version it came from (null for a first version). */
  diff: string | null;
  /** What the diff is against: `v2`, `bundled`. */
  diffBase: string | null;
}

/** One replay source of a task: a prior version or a run. */
export interface ReplaySource {
  /** `prior:v3`, `prior:bundled`, `run:<run folder>`. */
  source: string;
  label: string;
  episodes: { id: string; name: string }[];
}

/** GET /api/replays?task=&source= */
export interface ReplaysResponse {
  task: string;
  sources: ReplaySource[];
}

/** One run in GET /api/runs. */
export interface RunSummary {
  name: string;
  task: string;
  algo: string;
  seed: number;
  /**
   * `running` (a live process trains it), `finished`, `failed`, or `interrupted` (stopped on
   * request, or its process is gone: killed, crashed; `train --resume` continues it).
   */
  status: string;
  envSteps: number;
  updated: string;
}

/** GET /api/runs */
export interface RunsResponse {
  runs: RunSummary[];
}

/** One run of a queued experiment in GET /api/queue. */
export interface QueuedRunView {
  label: string;
  /** BullMQ's state: waiting, active, delayed, completed, failed… */
  state: string;
  /** The worker that trains it (or trained it last). */
  worker?: string | undefined;
  envSteps: number;
  totalSteps: number;
  /** The training status line while it trains. */
  status?: string | undefined;
  failedReason?: string | undefined;
  /** Its run folder's name, as GET /api/runs lists it once the folder exists (for its curves). */
  runName: string;
}

/** One experiment on the queue, newest first in GET /api/queue. */
export interface QueuedExperimentView {
  id: string;
  /** waiting-children while runs remain, then waiting, active, completed or failed. */
  state: string;
  /** One line: `3 of 6 runs done, 2 training`, `finished (6 of 6 runs done)`, `failed: …`. */
  summary: string;
  runs: QueuedRunView[];
}

/** GET /api/queue: the experiments of the queue `armprior view --queue` names. */
export interface QueueResponse {
  /** The queue's URL, credentials hidden; null when the viewer was started without --queue. */
  queue: string | null;
  experiments: QueuedExperimentView[];
}

/** POST /api/priors/:task/feedback answers 202 with the job to poll. */
export interface FeedbackStarted {
  job: string;
}

/** GET /api/jobs/:id */
export interface JobResponse {
  id: string;
  task: string;
  state: 'running' | 'done' | 'failed';
  /** What is happening now, for a person to read. */
  progress: string;
  result: FeedbackResult | null;
  error: string | null;
}

/** What a feedback round produced. */
export interface FeedbackResult {
  version: number;
  successRate: number;
  summary: string;
}

/** Every error answer. */
export interface ErrorResponse {
  error: string;
}
