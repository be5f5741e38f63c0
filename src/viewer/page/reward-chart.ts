import type { SceneReplay } from '../../episodes/scene/scene-replay-format.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const WIDTH = 640;
const HEIGHT = 170;
const PAD = { left: 48, right: 150, top: 14, bottom: 22 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];

/**
 * The episode over time as a small inline SVG: the reward per step and each named raw reward
 * term (one shared y axis, since they are all distances or sums of them), a green strip where
 * the task counted as solved, and a cursor at the shown frame.
 */
export class RewardChart {
  private cursor: SVGLineElement | undefined;
  private frames = 1;

  constructor(private readonly container: HTMLElement) {}

  show(replay: SceneReplay): void {
    const series = [
      { name: 'reward', values: replay.frames.map((f) => f.reward) },
      ...replay.rewardTermNames.map((name, i) => ({
        name,
        values: replay.frames.map((f) => f.rewardTerms[i] ?? Number.NaN),
      })),
    ];
    this.frames = replay.frames.length;
    const finite = series.flatMap((s) => s.values).filter(Number.isFinite);
    let low = Math.min(0, ...finite);
    let high = Math.max(0, ...finite);
    if (high - low < 1e-9) [low, high] = [low - 1, high + 1];
    const plotW = WIDTH - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const x = (i: number) => PAD.left + (plotW * i) / Math.max(1, this.frames - 1);
    const y = (v: number) => PAD.top + plotH * (1 - (v - low) / (high - low));

    // Drawn at its natural size (shrunk on narrow screens by CSS max-width), not stretched.
    const svg = svgElement('svg', {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      width: WIDTH,
      height: HEIGHT,
      role: 'img',
    });
    svg.setAttribute('aria-label', 'reward and reward terms per step');
    // Success strip: one rectangle per run of successful frames, along the top.
    replay.frames.forEach((f, i) => {
      if (!f.success) return;
      svg.append(
        svgElement('rect', {
          x: x(i) - plotW / Math.max(1, this.frames - 1) / 2,
          y: PAD.top - 10,
          width: plotW / Math.max(1, this.frames - 1),
          height: 6,
          fill: '#2ca02c',
        }),
      );
    });
    svg.append(
      svgElement('line', { x1: PAD.left, x2: PAD.left + plotW, y1: y(0), y2: y(0), stroke: '#bbb' }),
      svgElement('line', { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: PAD.top + plotH, stroke: '#888' }),
      text(PAD.left - 4, PAD.top + 4, format(high), 'end'),
      text(PAD.left - 4, PAD.top + plotH, format(low), 'end'),
      text(PAD.left, HEIGHT - 4, 'frame 0', 'start'),
      text(PAD.left + plotW, HEIGHT - 4, `frame ${this.frames - 1}`, 'end'),
    );
    series.forEach((s, k) => {
      const color = COLORS[k % COLORS.length]!;
      const points = s.values
        .map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : ''))
        .filter((p) => p !== '')
        .join(' ');
      svg.append(svgElement('polyline', { points, fill: 'none', stroke: color, 'stroke-width': 1.5 }));
      const legendY = PAD.top + 12 + 15 * k;
      svg.append(
        svgElement('line', {
          x1: WIDTH - PAD.right + 10,
          x2: WIDTH - PAD.right + 26,
          y1: legendY - 4,
          y2: legendY - 4,
          stroke: color,
          'stroke-width': 2,
        }),
        text(WIDTH - PAD.right + 30, legendY, s.name, 'start'),
      );
    });
    svg.append(text(WIDTH - PAD.right + 10, HEIGHT - 4, 'green: success', 'start'));
    this.cursor = svgElement('line', {
      x1: x(0),
      x2: x(0),
      y1: PAD.top - 10,
      y2: PAD.top + plotH,
      stroke: '#000',
      'stroke-dasharray': '3 2',
    });
    this.cursor.dataset.testid = 'chart-cursor';
    svg.append(this.cursor);
    this.container.replaceChildren(svg);
    this.moveCursor = (i: number) => {
      this.cursor?.setAttribute('x1', String(x(i)));
      this.cursor?.setAttribute('x2', String(x(i)));
    };
  }

  /** Puts the cursor at frame `index`. */
  moveCursor: (index: number) => void = () => {};

  clear(): void {
    this.container.replaceChildren();
  }
}

function svgElement<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

function text(x: number, y: number, content: string, anchor: 'start' | 'end'): SVGTextElement {
  const element = svgElement('text', { x, y, 'font-size': 11, 'text-anchor': anchor, fill: '#333' });
  element.textContent = content;
  return element;
}

function format(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}
