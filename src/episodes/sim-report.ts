import { type EpisodeSummary, type RolloutStats, summarize } from './run-episode.js';

/** What `armprior sim` reports (its `--json` document), whether its episodes ran here or on a queue's workers. */
export interface SimReport {
  task: string;
  robot: string;
  controller: string;
  seed: number;
  rewardType: string;
  episodes: EpisodeSummary[];
  summary: RolloutStats & { steps: number; seconds: number; stepsPerSecond: number };
}

/** The report of `episodes` (in any order: they are listed by index), which took `seconds` of wall clock. */
export function simReport(
  about: Pick<SimReport, 'task' | 'robot' | 'controller' | 'seed' | 'rewardType'>,
  episodes: readonly EpisodeSummary[],
  seconds: number,
): SimReport {
  const sorted = [...episodes].sort((a, b) => a.index - b.index);
  const steps = sorted.reduce((n, e) => n + e.length, 0);
  return {
    ...about,
    episodes: sorted,
    summary: { ...summarize(sorted), steps, seconds, stepsPerSecond: steps / seconds },
  };
}
