import type { Command } from 'commander';
import { envSpaces } from '../../../sim/env.js';
import { createTask, taskDefinitions } from '../../../sim/tasks/registry.js';

/** `armprior tasks`: the built-in tasks with one line each. */
export function registerTasksCommand(program: Command): void {
  program
    .command('tasks')
    .description('list the built-in tasks')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const rows = taskDefinitions().map((def) => {
        const task = createTask(def.name);
        const sizes = envSpaces(task);
        return {
          name: def.name,
          description: def.description,
          observationSize: sizes.observation,
          goalSize: sizes.goal,
          actionSize: sizes.action,
          maxEpisodeSteps: task.config.maxEpisodeSteps,
        };
      });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const width = Math.max(...rows.map((r) => r.name.length));
      for (const r of rows) {
        process.stdout.write(
          `${r.name.padEnd(width)}  ${r.description}  [obs ${r.observationSize}, goal ${r.goalSize}, action ${r.actionSize}, ${r.maxEpisodeSteps} steps]\n`,
        );
      }
    });
}
