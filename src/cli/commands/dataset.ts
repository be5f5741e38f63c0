import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { checkOutputDir } from '../../core/output-path.js';
import { exportLerobot } from '../../episodes/dataset/lerobot/lerobot-export.js';
import { createProgress, type Progress } from '../progress.js';

/** `armprior dataset`: datasets in other tools' layouts (issue #21). */
export function registerDatasetCommand(program: Command): void {
  const dataset = program.command('dataset').description("recorded datasets in other tools' layouts");
  dataset
    .command('export <dir>')
    .description(
      'write an armprior dataset (sim/run --record) in another layout: lerobot (LeRobot v2.1: meta/info.json, data/chunk-000/episode_000000.parquet, float32; train --demos reads it back)',
    )
    .addOption(new Option('--format <name>', 'the layout').choices(['lerobot']).makeOptionMandatory())
    .requiredOption('--out <dir>', 'a new (or empty) folder for the export')
    .option('--json', 'print one JSON document')
    .action(async (dir: string, options: { format: 'lerobot'; out: string; json?: boolean }) => {
      const out = resolve(options.out);
      checkOutputDir(out);
      let progress: Progress | undefined;
      const done = await exportLerobot(resolve(dir), out, (episodes, total) => {
        if (options.json) return;
        progress ??= createProgress('episodes', total);
        progress.update(episodes);
      });
      progress?.stop();
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ format: options.format, ...done }, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `exported ${done.episodes} episodes (${done.frames} frames at ${done.fps} fps) as a LeRobot v2.1 dataset: ${done.dir}\n`,
      );
    });
}
