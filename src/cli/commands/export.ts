import { resolve } from 'node:path';
import type { Command } from 'commander';
import { checkOutputFile } from '../../core/output-path.js';
import { exportRun } from '../../rl/train/export-run.js';
import { readRunConfig, readRunInfo, runFiles } from '../../rl/train/run-dir.js';
import { type Algo, resolveTrainConfig } from '../../rl/train/train-config.js';

/** `armprior export <run>`: the policy of a run's newest good checkpoint as ONNX. */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description("write the ONNX policy of a run's newest good checkpoint (normalisation inside)")
    .argument('<run>', 'a run folder')
    .option('-o, --out <file>', 'where to write it (default <run>/policy.onnx)')
    .action(async (run: string, options: { out?: string }) => {
      const runDir = resolve(run);
      const info = readRunInfo(runDir);
      const config = resolveTrainConfig(info.algo as Algo, runFiles(runDir).config, readRunConfig(runDir));
      const out = options.out ? resolve(options.out) : runFiles(runDir).policy;
      // Before the checkpoint is loaded: an unwritable path is bad input, said in one line.
      checkOutputFile(out);
      const result = await exportRun(runDir, config, out);
      for (const skipped of result.skipped)
        process.stderr.write(`armprior: skipped a damaged checkpoint: ${skipped.reason}\n`);
      process.stdout.write(`${result.file} (checkpoint at ${result.step} env steps)\n`);
    });
}
