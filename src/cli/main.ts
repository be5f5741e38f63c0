#!/usr/bin/env node
import { Command } from 'commander';
import { reportError, usageErrorLine } from './exit.js';

type Register = (program: Command) => void;

/**
 * Each command's module, in the order `armprior --help` lists them. A run imports only the
 * command it names: importing all of them (MuJoCo, onnxruntime, BullMQ, vega, the sandbox…)
 * took 1.7 s of CPU before any command ran, `armprior robot --help` included.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  tasks: async () => (await import('./commands/tasks.js')).registerTasksCommand,
  sim: async () => (await import('./commands/sim.js')).registerSimCommand,
  prior: async () => (await import('./commands/prior.js')).registerPriorCommand,
  train: async () => (await import('./commands/train.js')).registerTrainCommand,
  eval: async () => (await import('./commands/eval.js')).registerEvalCommand,
  export: async () => (await import('./commands/export.js')).registerExportCommand,
  dataset: async () => (await import('./commands/dataset.js')).registerDatasetCommand,
  env: async () => (await import('./commands/env.js')).registerEnvCommand,
  experiment: async () => (await import('./commands/experiment.js')).registerExperimentCommand,
  plot: async () => (await import('./commands/plot.js')).registerPlotCommand,
  report: async () => (await import('./commands/report.js')).registerReportCommand,
  run: async () => (await import('./commands/run.js')).registerRunCommand,
  bench: async () => (await import('./commands/bench.js')).registerBenchCommand,
  robot: async () => (await import('./commands/robot.js')).registerRobotCommand,
  view: async () => (await import('./commands/view.js')).registerViewCommand,
  worker: async () => (await import('./commands/worker.js')).registerWorkerCommand,
};

/**
 * Builds the `armprior` program with the command `argv` names, or with every command when it
 * names none of them (`--help`, `help`, a typo: commander then lists or suggests from all).
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('armprior')
    .description('robot manipulation with an LLM as a prior: coded controllers, MuJoCo, ROS and RL')
    .exitOverride();
  const named = argv[2];
  const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
  const registers = await Promise.all(wanted.map((name) => COMMANDS[name]!()));
  for (const register of registers) register(program);
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
    await (await buildProgram(argv)).parseAsync(argv);
    return 0;
  } catch (error) {
    return reportError(error);
  }
}

process.exitCode = await main(process.argv);
