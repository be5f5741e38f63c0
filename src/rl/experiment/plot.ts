import * as vega from 'vega';
import type { AggregateCurve } from './curves.js';

/** A horizontal reference line (a prior's own success rate). */
export interface ReferenceLine {
  label: string;
  value: number;
}

/**
 * Success rate against environment steps, one line per method (mean over seeds) with a band of
 * ± one standard deviation, and dashed reference lines (the prior alone). Rendered to SVG by
 * Vega without a browser or canvas.
 */
export async function successCurvesSvg(
  title: string,
  curves: readonly AggregateCurve[],
  references: readonly ReferenceLine[] = [],
): Promise<string> {
  const points = curves.flatMap((c) =>
    c.steps.map((step, i) => ({
      method: `${c.label} (${c.seeds} seed${c.seeds === 1 ? '' : 's'})`,
      step,
      mean: c.mean[i]!,
      low: Math.max(0, c.mean[i]! - c.std[i]!),
      high: Math.min(1, c.mean[i]! + c.std[i]!),
    })),
  );
  const maxStep = Math.max(1, ...points.map((p) => p.step));
  const spec: vega.Spec = {
    $schema: 'https://vega.github.io/schema/vega/v5.json',
    width: 560,
    height: 300,
    padding: 8,
    title: { text: title, fontSize: 14 },
    data: [
      { name: 'points', values: points },
      { name: 'references', values: references.map((r) => ({ ...r, maxStep })) },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: [0, maxStep], range: 'width', nice: true },
      { name: 'y', type: 'linear', domain: [0, 1], range: 'height' },
      {
        name: 'color',
        type: 'ordinal',
        domain: {
          fields: [
            { data: 'points', field: 'method' },
            { data: 'references', field: 'label' },
          ],
        },
        range: 'category',
      },
    ],
    axes: [
      {
        orient: 'bottom',
        scale: 'x',
        title: 'environment steps',
        grid: true,
        // SI prefixes (20k, 1M), but a plain 0 at the origin (the '~s' format writes "0k" there).
        encode: {
          labels: { update: { text: { signal: "datum.value === 0 ? '0' : format(datum.value, '~s')" } } },
        },
      },
      { orient: 'left', scale: 'y', title: 'success rate (deterministic policy)', format: '.0%', grid: true },
    ],
    legends: [{ fill: 'color', stroke: 'color', title: 'method', orient: 'bottom-right' }],
    marks: [
      {
        type: 'group',
        from: { facet: { name: 'series', data: 'points', groupby: 'method' } },
        marks: [
          {
            type: 'area',
            from: { data: 'series' },
            encode: {
              enter: {
                x: { scale: 'x', field: 'step' },
                y: { scale: 'y', field: 'low' },
                y2: { scale: 'y', field: 'high' },
                fill: { scale: 'color', field: 'method' },
                fillOpacity: { value: 0.18 },
              },
            },
          },
          {
            type: 'line',
            from: { data: 'series' },
            encode: {
              enter: {
                x: { scale: 'x', field: 'step' },
                y: { scale: 'y', field: 'mean' },
                stroke: { scale: 'color', field: 'method' },
                strokeWidth: { value: 2 },
              },
            },
          },
        ],
      },
      {
        type: 'rule',
        from: { data: 'references' },
        encode: {
          enter: {
            x: { value: 0 },
            x2: { scale: 'x', field: 'maxStep' },
            y: { scale: 'y', field: 'value' },
            stroke: { scale: 'color', field: 'label' },
            strokeDash: { value: [6, 4] },
            strokeWidth: { value: 1.5 },
          },
        },
      },
    ],
  };
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
