import type { QueuedExperimentView, QueuedRunView, QueueResponse } from '../api-types.js';
import { byId, getJson } from './api.js';
import type { CurvesPanel } from './curves-panel.js';

/** How often the queue is read again while an experiment on it is not over (ms). */
const REFRESH_MS = 3000;

/**
 * The queued experiments (`armprior view --queue`), above the run list: each run's state, the
 * worker training it, its steps, a failure's message, and a button that draws its curves once a
 * worker has made its folder. Hidden when the viewer has no queue.
 */
export class QueuePanel {
  private readonly box = byId('queue');
  /** What is shown, so that the panel is drawn again only when it changes (a click is not lost). */
  private shown = '';
  /** Experiments the user folded. */
  private readonly folded = new Set<string>();

  constructor(private readonly curves: CurvesPanel) {}

  async start(): Promise<void> {
    const response = await getJson<QueueResponse>('/api/queue');
    if (response.queue === null) return;
    this.box.hidden = false;
    this.render(response);
    setInterval(() => void this.refresh(), REFRESH_MS);
  }

  private async refresh(): Promise<void> {
    try {
      const response = await getJson<QueueResponse>('/api/queue');
      this.render(response);
      // New folders appear as workers start runs.
      if (response.experiments.some((e) => !isOver(e))) await this.curves.reloadRuns();
    } catch (error) {
      const line = document.createElement('p');
      line.className = 'note error';
      line.textContent = (error as Error).message;
      this.box.replaceChildren(line);
      this.shown = '';
    }
  }

  private render(response: QueueResponse): void {
    const text = JSON.stringify(response);
    if (text === this.shown) return;
    this.shown = text;
    const title = document.createElement('h3');
    title.textContent = `Queue ${response.queue}`;
    if (response.experiments.length === 0) {
      const none = document.createElement('p');
      none.className = 'note';
      none.textContent = 'No experiments queued (armprior experiment … --queue).';
      this.box.replaceChildren(title, none);
      return;
    }
    this.box.replaceChildren(title, ...response.experiments.map((e) => this.experiment(e)));
  }

  private experiment(experiment: QueuedExperimentView): HTMLElement {
    const details = document.createElement('details');
    details.open = !this.folded.has(experiment.id);
    details.addEventListener('toggle', () => {
      if (details.open) this.folded.delete(experiment.id);
      else this.folded.add(experiment.id);
    });
    details.dataset.testid = `queued-${experiment.id}`;
    const summary = document.createElement('summary');
    summary.textContent = `${experiment.id}: ${experiment.summary}`;
    const table = document.createElement('table');
    for (const run of experiment.runs) table.append(this.run(run));
    details.append(summary, table);
    return details;
  }

  private run(run: QueuedRunView): HTMLTableRowElement {
    const row = document.createElement('tr');
    row.dataset.testid = `queued-run-${run.runName}`;
    const cells = [run.label, stateText(run), detailText(run)].map((text) => {
      const cell = document.createElement('td');
      cell.textContent = text;
      return cell;
    });
    if (run.state === 'failed') cells[2]!.className = 'error';
    const action = document.createElement('td');
    if (run.state !== 'waiting' && run.state !== 'failed') {
      const button = document.createElement('button');
      button.textContent = 'curves';
      button.addEventListener('click', () => {
        if (!this.curves.show(run.runName)) button.textContent = 'no folder yet';
      });
      action.append(button);
    }
    row.append(...cells, action);
    return row;
  }
}

function isOver(experiment: QueuedExperimentView): boolean {
  return experiment.state === 'completed' || experiment.state === 'failed';
}

function stateText(run: QueuedRunView): string {
  if (run.state === 'active') return `training on ${run.worker ?? 'a worker'}`;
  if (run.state === 'completed') return `done${run.worker ? ` (${run.worker})` : ''}`;
  if (run.state === 'delayed') return 'waiting to be tried again';
  return run.state;
}

function detailText(run: QueuedRunView): string {
  if (run.state === 'failed') return run.failedReason ?? 'no reason given';
  if (run.state !== 'active') return '';
  const steps = run.totalSteps > 0 ? `${run.envSteps}/${run.totalSteps} steps` : '';
  return [steps, run.status].filter(Boolean).join(' · ');
}
