/** The train group of metrics.jsonl: running sums of losses and rollout statistics, and the record they make. */
import type { MetricsRecord } from './run-dir.js';
import type { RunState } from './run-state.js';

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Adds one update's (or round's) values to the sums averaged in the next train record. */
export function accumulate(state: RunState, values: Record<string, number | undefined>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    state.sums[key] = (state.sums[key] ?? 0) + value;
    state.counts[key] = (state.counts[key] ?? 0) + 1;
  }
}

/** The train group of metrics.jsonl: rollout statistics, averaged losses, timing. */
export function trainRecord(
  state: RunState,
  gradientSteps: number,
  timing: { updatesDone: number; updateSeconds: number; started: number },
): MetricsRecord {
  const record: MetricsRecord = {
    kind: 'train',
    step: state.envSteps,
    'rollout/success_rate': mean(state.recentSuccess),
    'rollout/ep_rew_mean': mean(state.recentReturn),
    'rollout/episodes': state.episodes,
    'rollout/prior_acted_fraction':
      state.collectedSteps === 0 ? 0 : state.priorActedSteps / state.collectedSteps,
    'rollout/prior_aborted_episodes': state.priorAbortedEpisodes,
    'train/rejected_updates': state.rejectedUpdates,
    'train/gradient_steps': gradientSteps,
  };
  for (const [key, sum] of Object.entries(state.sums)) record[key] = sum / state.counts[key]!;
  const elapsed = (performance.now() - timing.started) / 1000;
  record['time/elapsed_s'] = elapsed;
  record['time/updates_per_sec'] = timing.updatesDone / Math.max(1e-9, timing.updateSeconds);
  return record;
}

/**
 * The `time/elapsed_s` of the last train record in `records` (0 if none): where a resumed run's
 * clock continues from, so that the time to a success rate reads the same whether or not the run
 * was interrupted (the time between that record and the kill is not counted).
 */
export function lastElapsedSeconds(records: readonly MetricsRecord[]): number {
  for (let i = records.length - 1; i >= 0; i--) {
    const value = records[i]!['time/elapsed_s'];
    if (records[i]!.kind === 'train' && typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return 0;
}
