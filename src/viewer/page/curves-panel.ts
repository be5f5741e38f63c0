import type { RunSummary, RunsResponse } from '../api-types.js';
import { byId, getJson, getText } from './api.js';

/** How often curves of running runs are fetched again (ms). */
const REFRESH_MS = 3000;

/**
 * The learning-curves panel: runs as checkboxes grouped by task; the selected ones are drawn by
 * the server (/api/curves.svg: success rate against env steps, mean ± spread over seeds) and
 * fetched again every few seconds while any of them is still training.
 */
export class CurvesPanel {
  private readonly list = byId('run-list');
  private readonly curves = byId('curves');
  private readonly status = byId('curves-status');
  private runs: RunSummary[] = [];
  private readonly selected = new Set<string>();
  private fetching = false;

  async start(): Promise<void> {
    await this.loadRuns();
    setInterval(() => void this.refreshIfRunning(), REFRESH_MS);
  }

  /** Lists the run folders again (a queued run's folder appears once a worker starts it). */
  async reloadRuns(): Promise<void> {
    if (!this.fetching) await this.loadRuns();
  }

  /** Selects a run (as its checkbox does) and draws the curves; false when it has no folder yet. */
  show(name: string): boolean {
    if (!this.runs.some((run) => run.name === name)) return false;
    this.selected.add(name);
    const box = this.list.querySelector<HTMLInputElement>(`input[value="${CSS.escape(name)}"]`);
    if (box) box.checked = true;
    void this.draw();
    return true;
  }

  private async loadRuns(): Promise<void> {
    this.runs = (await getJson<RunsResponse>('/api/runs')).runs;
    if (this.runs.length === 0) {
      this.list.textContent = 'No run folders yet (armprior train writes them).';
      return;
    }
    const byTask = new Map<string, RunSummary[]>();
    for (const run of this.runs) byTask.set(run.task, [...(byTask.get(run.task) ?? []), run]);
    const groups = [...byTask].map(([task, runs]) => {
      const fieldset = document.createElement('fieldset');
      const legend = document.createElement('legend');
      legend.textContent = task;
      fieldset.append(legend);
      for (const run of runs) {
        const label = document.createElement('label');
        label.style.display = 'block';
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.value = run.name;
        box.checked = this.selected.has(run.name);
        box.dataset.testid = `run-${run.name}`;
        box.addEventListener('change', () => {
          if (box.checked) this.selected.add(run.name);
          else this.selected.delete(run.name);
          void this.draw();
        });
        const status = document.createElement('span');
        status.className = 'note';
        status.textContent = ` ${run.status}, ${run.envSteps} steps`;
        label.append(box, ` ${run.algo} seed ${run.seed}`, status);
        label.title = run.name;
        fieldset.append(label);
      }
      return fieldset;
    });
    this.list.replaceChildren(...groups);
  }

  private async refreshIfRunning(): Promise<void> {
    const running = this.runs.some((r) => this.selected.has(r.name) && r.status === 'running');
    if (!running || this.fetching) return;
    await this.loadRuns();
    await this.draw();
  }

  private async draw(): Promise<void> {
    if (this.selected.size === 0) {
      this.curves.replaceChildren();
      this.status.textContent = '';
      return;
    }
    this.fetching = true;
    try {
      const names = [...this.selected].sort();
      const svgText = await getText(`/api/curves.svg?runs=${names.map(encodeURIComponent).join(',')}`);
      // Parsed as SVG and imported (not innerHTML), so the markup cannot run scripts in the page.
      const parsed = new DOMParser().parseFromString(svgText, 'image/svg+xml').documentElement;
      if (parsed.nodeName !== 'svg') throw new Error('the server did not send an SVG');
      for (const script of parsed.querySelectorAll('script')) script.remove();
      this.curves.replaceChildren(document.importNode(parsed, true));
      const running = this.runs.filter((r) => this.selected.has(r.name) && r.status === 'running').length;
      this.status.textContent = running > 0 ? `${running} run(s) still training: updating every 3 s` : '';
      this.status.classList.remove('error');
    } catch (error) {
      this.status.textContent = (error as Error).message;
      this.status.classList.add('error');
    } finally {
      this.fetching = false;
    }
  }
}
