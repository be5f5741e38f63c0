import { resolve } from 'node:path';
import type { Command } from 'commander';
import { checkOutputFile, writeOutputFile } from '../../core/output-path.js';
import { reportMarkdown, reportRuns } from '../../rl/experiment/report.js';
import { PlotError } from '../../rl/experiment/run-plot.js';
import { rateOption } from '../options.js';

interface ReportOptions {
  runs: string[];
  threshold: number;
  out?: string;
  json?: boolean;
}

/** `armprior report`: the sample-efficiency table of runs trained so far, without training. */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'steps and wall clock until each run held a success rate, per task and algo, and how many times fewer steps rlingua needed than td3/sac',
    )
    .requiredOption(
      '--runs <dir...>',
      'run folders (or folders holding runs); runs of one task and algo are seeds of one row',
    )
    .option('--threshold <rate>', 'success rate counted as solved', rateOption, 0.9)
    .option('-o, --out <file>', 'also write the markdown table to this file')
    .option('--json', 'print the report as JSON')
    .action((options: ReportOptions) => {
      if (options.out) checkOutputFile(resolve(options.out), { createFolder: true });
      const report = reportRuns(
        options.runs.map((dir) => resolve(dir)),
        {
          threshold: options.threshold,
          onSkip: (dir, reason) => process.stderr.write(`armprior: skipping ${dir}: ${reason}\n`),
        },
      );
      if (report.groups.length === 0) throw new PlotError('nothing to report: no run has an evaluation yet');
      const markdown = reportMarkdown(report);
      if (options.out) {
        writeOutputFile(resolve(options.out), markdown, { createFolder: true });
      }
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : markdown);
    });
}
