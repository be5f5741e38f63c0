import type { FeedbackResult, JobResponse } from './api-types.js';

/** What a feedback round is asked to do. */
export interface FeedbackRequest {
  task: string;
  feedback: string;
  /** The version the feedback is about (`vN`, `bundled`); default the active one. */
  from?: string;
}

/**
 * Runs one feedback round (LLM, store, evaluation) and reports progress as text for a person.
 * The CLI's is built on `feedbackRound` (src/viewer/feedback-runner.ts); tests inject their own.
 */
export type FeedbackRunner = (
  request: FeedbackRequest,
  onProgress: (text: string) => void,
) => Promise<FeedbackResult>;

/** Finished jobs kept for polling; older ones are forgotten. */
const FINISHED_JOBS_KEPT = 20;

/**
 * Feedback rounds take an LLM reply and two evaluations, longer than a request should wait, so
 * each runs as a job the page polls. One round per task at a time: two at once would both build
 * on the same version and race for the next number.
 */
export class FeedbackJobs {
  private readonly jobs = new Map<string, JobResponse>();
  private counter = 0;

  constructor(private readonly runner: FeedbackRunner) {}

  /** Whether a round on `task` is under way. */
  busy(task: string): boolean {
    return [...this.jobs.values()].some((j) => j.task === task && j.state === 'running');
  }

  /** Starts a round and returns its job id at once; the outcome lands in the job. */
  start(request: FeedbackRequest): string {
    const job: JobResponse = {
      id: `job-${++this.counter}`,
      task: request.task,
      state: 'running',
      progress: 'starting',
      result: null,
      error: null,
    };
    this.jobs.set(job.id, job);
    this.forgetOld();
    this.runner(request, (progress) => {
      job.progress = progress;
    }).then(
      (result) => {
        job.state = 'done';
        job.result = result;
        job.progress = `v${result.version} stored and evaluated`;
      },
      (error: unknown) => {
        // The round's error goes to the page that asked for it; the server carries on.
        job.state = 'failed';
        job.error = error instanceof Error ? error.message : String(error);
        job.progress = 'failed';
      },
    );
    return job.id;
  }

  /** A copy of the job's state, or undefined for an unknown id. */
  get(id: string): JobResponse | undefined {
    const job = this.jobs.get(id);
    return job && { ...job };
  }

  private forgetOld(): void {
    const finished = [...this.jobs.values()].filter((j) => j.state !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - FINISHED_JOBS_KEPT)))
      this.jobs.delete(old.id);
  }
}
