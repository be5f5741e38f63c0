import type { SimCheckReport } from '../../../sim/robot-sim-check.js';
import { ArmpriorError } from '../../core/errors.js';

// The simulated robot check as `robot check` and `robot init` print it.

/** A simulated check found problems: exit 2 (the report is printed already). */
export class SimCheckError extends ArmpriorError {
  constructor(report: SimCheckReport) {
    super(
      'robot_check_failed',
      `robot check of '${report.robot}' in simulation: ${report.problems} problem${report.problems === 1 ? '' : 's'}`,
    );
  }
}

/** The simulated arm's report: one line per check, problems saying what to change. */
export function formatSimCheck(report: SimCheckReport): string {
  const tag = { ok: 'ok     ', warning: 'warning', problem: 'PROBLEM' } as const;
  const body = report.lines.map((l) => `  ${tag[l.level]}  ${l.text}`);
  const verdict =
    report.problems === 0
      ? 'no problems found'
      : `${report.problems} problem${report.problems === 1 ? '' : 's'}`;
  return `${[`robot '${report.robot}' in simulation`, ...body, verdict].join('\n')}\n`;
}
