import type { EpisodeSummary } from '../episodes/run-episode.js';
import type { SimReport } from '../episodes/sim-report.js';

/** `armprior sim`'s line for one episode. */
export function episodeLine(e: EpisodeSummary, total: number): string {
  const width = String(total).length;
  const distance =
    e.finalGoalDistance === undefined ? '' : `  final distance ${e.finalGoalDistance.toFixed(3)} m`;
  return `episode ${String(e.index + 1).padStart(width)}/${total}  seed ${e.seed}  return ${e.return.toFixed(2).padStart(7)}  length ${e.length}  success ${e.success ? 'yes' : 'no '}${distance}${e.simUnstable ? '  (unstable physics)' : ''}${e.controllerFailures > 0 ? `  controller errors ${e.controllerFailures}` : ''}${e.abortReason ? `  ended: ${e.abortReason}` : ''}\n`;
}

/** `armprior sim`'s summary: `where` says where the episodes ran, `extra` adds lines (indented). */
export function reportText(report: SimReport, where: string, extra: string[] = []): string {
  const stats = report.summary;
  return (
    `\n${report.task} · ${report.controller} controller · ${stats.episodes} episodes from seed ${report.seed}${where}\n` +
    `  success rate  ${(stats.successRate * 100).toFixed(1)}%\n` +
    `  return        ${stats.meanReturn.toFixed(2)} ± ${stats.stdReturn.toFixed(2)} (${report.rewardType})\n` +
    `  length        ${stats.meanLength.toFixed(1)} steps\n` +
    (stats.unstableEpisodes > 0
      ? `  unstable      ${stats.unstableEpisodes} episodes ended by unstable physics\n`
      : '') +
    `  speed         ${stats.stepsPerSecond.toFixed(0)} env steps/s (${stats.seconds.toFixed(2)} s)\n` +
    extra.map((line) => `  ${line}\n`).join('')
  );
}
