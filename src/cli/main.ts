#!/usr/bin/env node
import { Command } from 'commander';
import { registerBenchCommand } from './commands/bench.js';
import { registerDatasetCommand } from './commands/dataset.js';
import { registerEnvCommand } from './commands/env.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerExperimentCommand } from './commands/experiment.js';
import { registerExportCommand } from './commands/export.js';
import { registerPlotCommand } from './commands/plot.js';
import { registerPriorCommand } from './commands/prior.js';
import { registerReportCommand } from './commands/report.js';
import { registerRobotCommand } from './commands/robot.js';
import { registerRunCommand } from './commands/run.js';
import { registerSimCommand } from './commands/sim.js';
import { registerTasksCommand } from './commands/tasks.js';
import { registerTrainCommand } from './commands/train.js';
import { registerViewCommand } from './commands/view.js';
import { registerWorkerCommand } from './commands/worker.js';
import { reportError, usageErrorLine } from './exit.js';

/** Builds the `armprior` program; one file per command under ./commands. */
export function buildProgram(): Command {
  const program = new Command('armprior')
    .description('robot manipulation with an LLM as a prior: coded controllers, MuJoCo, ROS and RL')
    .exitOverride();
  registerTasksCommand(program);
  registerSimCommand(program);
  registerPriorCommand(program);
  registerTrainCommand(program);
  registerEvalCommand(program);
  registerExportCommand(program);
  registerDatasetCommand(program);
  registerEnvCommand(program);
  registerExperimentCommand(program);
  registerPlotCommand(program);
  registerReportCommand(program);
  registerRunCommand(program);
  registerBenchCommand(program);
  registerRobotCommand(program);
  registerViewCommand(program);
  registerWorkerCommand(program);
  oneLineUsageErrors(program, 'armprior');
  return program;
}

/** Every command prints a usage error as one line naming its own `--help` (see {@link usageErrorLine}). */
function oneLineUsageErrors(command: Command, path: string): void {
  command.configureOutput({ outputError: (text, write) => write(usageErrorLine(text, path)) });
  for (const sub of command.commands) oneLineUsageErrors(sub, `${path} ${sub.name()}`);
}

/** Runs the CLI; the single place that turns errors into exit codes. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    return reportError(error);
  }
}

process.exitCode = await main(process.argv);
