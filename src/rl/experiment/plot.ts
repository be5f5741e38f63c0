import * as vega from 'vega';
import type { AggregateCurve, CurveMetric } from './curves.js';

/** A horizontal reference line (a prior's own success rate). */
export interface ReferenceLine {
  label: string;
  value: number;
}

/** How the band around a mean curve spans the seeds. */
export type CurveBand = 'std' | 'range';

/** What {@link curvesSvg} draws besides the curves. */
export interface CurvesSvgOptions {
  /** Success rate (0–1, drawn as %) or mean return; default success. */
  metric?: CurveMetric;
  /** ± one standard deviation over seeds (population), or min–max; default std. */
  band?: CurveBand;
  /** Dashed horizontal lines (the prior alone). */
  references?: readonly ReferenceLine[];
  /** A line under the title (what was left out, how the band is made). */
  subtitle?: string;
}

/**
 * Success rate against environment steps, one line per method (mean over seeds) with a band of
 * ± one standard deviation, and dashed reference lines (the prior alone). Rendered to SVG by
 * Vega without a browser or canvas.
 */
export function successCurvesSvg(
  title: string,
  curves: readonly AggregateCurve[],
  references: readonly ReferenceLine[] = [],
): Promise<string> {
  return curvesSvg(title, curves, { references });
}

/**
 * Learning curves against environment steps: one line per group (mean over its seeds) with a
 * band (± std or min–max), on a 0–100% axis for success or a fitted one for return. Rendered to
 * SVG by Vega without a browser or canvas.
 */
export async function curvesSvg(
  title: string,
  curves: readonly AggregateCurve[],
  options: CurvesSvgOptions = {},
): Promise<string> {
  const metric = options.metric ?? 'success';
  const references = options.references ?? [];
  // A success band past 0 or 100% would claim values no run can have.
  const clamp = (v: number) => (metric === 'success' ? Math.min(1, Math.max(0, v)) : v);
  const points = curves.flatMap((c) =>
    c.steps.map((step, i) => ({
      method: `${c.label} (${c.seeds} seed${c.seeds === 1 ? '' : 's'})`,
      step,
      mean: c.mean[i]!,
      low: clamp(options.band === 'range' ? c.min[i]! : c.mean[i]! - c.std[i]!),
      high: clamp(options.band === 'range' ? c.max[i]! : c.mean[i]! + c.std[i]!),
    })),
  );
  const maxStep = Math.max(1, ...points.map((p) => p.step));
  const spec: vega.Spec = {
    $schema: 'https://vega.github.io/schema/vega/v5.json',
    width: 560,
    height: 300,
    padding: 8,
    title: { text: title, fontSize: 14, ...(options.subtitle ? { subtitle: options.subtitle } : {}) },
    data: [
      { name: 'points', values: points },
      { name: 'references', values: references.map((r) => ({ ...r, maxStep })) },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: [0, maxStep], range: 'width', nice: true },
      metric === 'success'
        ? { name: 'y', type: 'linear', domain: [0, 1], range: 'height' }
        : {
            name: 'y',
            type: 'linear',
            domain: {
              fields: [
                { data: 'points', field: 'low' },
                { data: 'points', field: 'high' },
              ],
            },
            range: 'height',
            nice: true,
            zero: false,
          },
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
      metric === 'success'
        ? {
            orient: 'left',
            scale: 'y',
            title: 'success rate (deterministic policy)',
            format: '.0%',
            grid: true,
          }
        : { orient: 'left', scale: 'y', title: 'mean return (deterministic policy)', grid: true },
    ],
    // labelLimit: Vega cuts labels at 160 px, which `push · rlingua (3 seeds)` passes.
    legends: [{ fill: 'color', stroke: 'color', title: 'method', orient: 'bottom-right', labelLimit: 320 }],
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
