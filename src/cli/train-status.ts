import type { TrainProgress } from '../rl/train/train-options.js';

/** A training run's progress-bar status: its phase (the offline start, collecting), success, last evaluation, updates/s. */
export function trainStatus(p: TrainProgress): string {
  const parts = [
    p.pretrain
      ? `offline start on the prior's episodes: ${p.pretrain.done}/${p.pretrain.total} updates`
      : p.phase === 'precollect'
        ? 'collecting prior demos'
        : `success ${(100 * p.successRate).toFixed(0)}%`,
  ];
  if (p.lastEval) parts.push(`eval ${(100 * p.lastEval.successRate).toFixed(0)}%`);
  if (p.updatesPerSec > 0) parts.push(`${p.updatesPerSec.toFixed(0)} updates/s`);
  return parts.join(' · ');
}
