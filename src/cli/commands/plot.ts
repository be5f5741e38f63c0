import { extname, resolve } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { type Command, Option } from 'commander';
import { checkOutputFile, writeOutputFile } from '../../core/output-path.js';
import type { CurveMetric } from '../../rl/experiment/curves.js';
import type { CurveBand } from '../../rl/experiment/plot.js';
import { curvesSvgForRuns, PlotError } from '../../rl/experiment/run-plot.js';

interface PlotOptions {
  runs: string[];
  out: string;
  metric: CurveMetric;
  band: CurveBand;
  title?: string;
}

/** Pixels per SVG unit in a PNG: the 576-wide chart comes out 1152 pixels wide, sharp on a slide. */
const PNG_ZOOM = 2;

/** `armprior plot`: learning curves of training runs, as SVG or PNG. */
export function registerPlotCommand(program: Command): void {
  program
    .command('plot')
    .description(
      'learning curves of runs (eval success rate or return against env steps), mean and band over seeds',
    )
    .requiredOption(
      '--runs <dir...>',
      'run folders (or folders holding runs); runs of one task and algo are seeds of one curve',
    )
    .requiredOption('-o, --out <file>', 'output file: .svg or .png')
    .addOption(
      new Option('--metric <metric>', 'what to plot').choices(['success', 'return']).default('success'),
    )
    .addOption(
      new Option('--band <band>', 'band over seeds: ± one standard deviation, or min–max')
        .choices(['std', 'range'])
        .default('std'),
    )
    .option('--title <title>', 'chart title (default: the task and the metric)')
    .action(async (options: PlotOptions) => {
      const out = resolve(options.out);
      const format = extname(out).toLowerCase();
      // Checked before reading any run: a typo in the name should not cost the reading.
      if (format !== '.svg' && format !== '.png') {
        throw new PlotError(`--out ${options.out}: unknown extension '${format}', use .svg or .png`);
      }
      checkOutputFile(out, { createFolder: true });
      const svg = await curvesSvgForRuns(
        options.runs.map((dir) => resolve(dir)),
        {
          metric: options.metric,
          band: options.band,
          ...(options.title !== undefined ? { title: options.title } : {}),
          onSkip: (dir, reason) => process.stderr.write(`armprior: skipping ${dir}: ${reason}\n`),
        },
      );
      if (format === '.svg') {
        writeOutputFile(out, svg, { createFolder: true });
      } else {
        // White behind the chart: Vega leaves the background transparent, which reads badly in
        // image viewers and slides with dark themes.
        const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: PNG_ZOOM } })
          .render()
          .asPng();
        writeOutputFile(out, png, { createFolder: true });
      }
      process.stdout.write(`${out}\n`);
    });
}
