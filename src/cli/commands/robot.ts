import { type Command, InvalidArgumentError } from 'commander';
import { checkRobotInSim } from '../../../sim/robot-sim-check.js';
import { checkRobot, RobotCheckError, type RobotCheckReport } from '../../bridge/ros/robot-check.js';
import { loadRobotConfig } from '../../robot-config/robot-config.js';
import { registerRobotInit } from './robot-init.js';
import { formatSimCheck, SimCheckError } from './sim-check-report.js';

/** Commander parser for a listening time in seconds (0 < s ≤ 60). */
function listenSeconds(value: string): number {
  const s = Number(value);
  if (value.trim() === '' || !Number.isFinite(s) || s <= 0 || s > 60) {
    throw new InvalidArgumentError(`expected seconds in (0, 60], got '${value}'`);
  }
  return s;
}

/** The report as people read it: one line per finding, problems first to catch the eye. */
export function formatRobotCheck(report: RobotCheckReport): string {
  const tag = { ok: 'ok     ', warning: 'warning', problem: 'PROBLEM' } as const;
  const head = `robot '${report.robot}' via ${report.url}`;
  const state =
    report.state.messages > 0
      ? `${report.state.messages} messages on ${report.state.topic} in ${report.state.listenSec} s` +
        (report.state.rateHz === undefined ? '' : ` (${report.state.rateHz.toFixed(1)} Hz)`) +
        (report.state.jointNames.length > 0 ? `; joints: ${report.state.jointNames.join(', ')}` : '')
      : undefined;
  const body = report.lines.map((l) => `  ${tag[l.level]}  ${l.text}`);
  const verdict =
    report.problems === 0
      ? 'no problems found'
      : `${report.problems} problem${report.problems === 1 ? '' : 's'}`;
  return `${[head, ...body, ...(state ? [`  ${state}`] : []), verdict].join('\n')}\n`;
}

/** `armprior robot check <robot>`: the model in the task scenes, and the ROS side against the config. */
export function registerRobotCommand(program: Command): void {
  const robot = program
    .command('robot')
    .description('a robot: its model in simulation, and a real one over rosbridge');
  registerRobotInit(robot);
  robot
    .command('check')
    .description(
      'try the robot model the way the tasks use it (loads in every task scene, its end-effector site at the fingertips, points the gripper down at home, holds still there, reaches the goal box) and, for a robot with a ros: section, compare what rosbridge offers (topics, types, joint names, state rate) with its config',
    )
    .argument('<robot>', 'a robot name (config/robots/<name>.yaml) or a path to a robot YAML')
    .option('--json', 'print the report as JSON')
    .option('--sim', 'only the simulated checks, even for a robot with a ros: section')
    .option('--listen-sec <s>', 'how long to watch the joint-state topic', listenSeconds, 1.5)
    .action(async (name: string, options: { json?: boolean; sim?: boolean; listenSec: number }) => {
      const config = loadRobotConfig(name);
      if (options.sim || !config.ros) {
        const report = await checkRobotInSim(config);
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatSimCheck(report));
        if (report.problems > 0) throw new SimCheckError(report);
        return;
      }
      const report = await checkRobot(config, { listenSec: options.listenSec });
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatRobotCheck(report));
      // Problems end in exit code 2 through the CLI's single error boundary (src/cli/exit.ts).
      if (report.problems > 0) throw new RobotCheckError(report);
    });
}
