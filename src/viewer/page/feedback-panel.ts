import type { FeedbackStarted, JobResponse, PriorsResponse, PriorVersionResponse } from '../api-types.js';
import { byId, getJson, postJson, setOptions } from './api.js';

const POLL_MS = 500;

/**
 * The feedback panel (RLingua's human-in-the-loop step): a task's prior versions with their
 * evaluation and failure summary, code and diff against the parent; the feedback text goes to
 * POST /api/priors/:task/feedback, which runs `armprior prior feedback`'s round, and the page
 * polls the job until the new version is stored and evaluated.
 */
export class FeedbackPanel {
  private readonly taskSelect = byId<HTMLSelectElement>('feedback-task');
  private readonly summary = byId('prior-summary');
  private readonly versions = byId('version-list');
  private readonly title = byId('version-title');
  private readonly evaluation = byId('prior-evaluation');
  private readonly diffBox = byId<HTMLDetailsElement>('diff-box');
  private readonly diffTitle = byId('diff-title');
  private readonly diff = byId('prior-diff');
  private readonly code = byId('prior-code');
  private readonly form = byId<HTMLFormElement>('feedback-form');
  private readonly text = byId<HTMLTextAreaElement>('feedback-text');
  private readonly submit = byId<HTMLButtonElement>('feedback-submit');
  private readonly progress = byId('feedback-progress');
  /** The version on show, which feedback is about: `v3` or `bundled`. */
  private shown = 'bundled';

  /** `onNewVersion` runs after a round stored a version (its episodes may be new replays). */
  constructor(
    tasks: readonly string[],
    private readonly onNewVersion: (task: string, version: number) => void,
  ) {
    setOptions(
      this.taskSelect,
      tasks.map((t) => ({ value: t, label: t })),
    );
    this.taskSelect.addEventListener('change', () => void this.loadTask());
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.send();
    });
  }

  async selectTask(task: string): Promise<void> {
    this.taskSelect.value = task;
    await this.loadTask();
  }

  private async loadTask(select?: string): Promise<void> {
    const task = this.taskSelect.value;
    const priors = await getJson<PriorsResponse>(`/api/priors/${encodeURIComponent(task)}`);
    const active = priors.active === null ? 'bundled' : `v${priors.active}`;
    const e = priors.activeEvaluation;
    this.summary.textContent = `active: ${active}${e?.successRate != null ? ` · success ${percent(e.successRate)} of ${e.episodes}` : ''}`;
    const items: HTMLLIElement[] = [];
    for (const v of [...priors.versions].reverse()) {
      const origin =
        v.feedback !== null
          ? `from ${v.parent === null ? 'bundled' : `v${v.parent}`}: “${v.feedback}”`
          : v.source;
      const rate = v.successRate === null ? 'not evaluated' : percent(v.successRate);
      items.push(
        this.versionItem(
          `v${v.version}`,
          `v${v.version}${priors.active === v.version ? ' (active)' : ''} · ${rate} · ${origin}`,
        ),
      );
    }
    if (priors.bundled)
      items.push(
        this.versionItem(
          'bundled',
          `bundled${priors.active === null ? ' (active)' : ''} · shipped with armprior`,
        ),
      );
    this.versions.replaceChildren(...items);
    await this.showVersion(select ?? active);
  }

  private versionItem(spec: string, label: string): HTMLLIElement {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = label;
    button.dataset.version = spec;
    button.dataset.testid = `version-${spec}`;
    button.addEventListener('click', () => void this.showVersion(spec));
    li.append(button);
    return li;
  }

  private async showVersion(spec: string): Promise<void> {
    const task = this.taskSelect.value;
    const version = await getJson<PriorVersionResponse>(
      `/api/priors/${encodeURIComponent(task)}/${encodeURIComponent(spec)}`,
    );
    this.shown = spec;
    for (const button of this.versions.querySelectorAll('button'))
      button.classList.toggle('selected', button.dataset.version === spec);
    this.title.textContent = `${task} ${spec}${version.feedback ? ` — feedback: “${version.feedback.trim()}”` : ''}`;
    const e = version.evaluation;
    this.evaluation.textContent = e
      ? `success ${e.successRate === null ? '?' : percent(e.successRate)} of ${e.episodes ?? '?'} episodes, mean return ${e.meanReturn?.toFixed(2) ?? '?'}\n${e.summary}`
      : spec === 'bundled'
        ? 'the bundled prior: evaluated when feedback is given on it'
        : 'not evaluated yet';
    this.diffBox.hidden = version.diff === null;
    this.diffTitle.textContent = `diff against ${version.diffBase ?? ''}`;
    this.diff.replaceChildren(...diffLines(version.diff ?? ''));
    this.code.textContent = version.code;
    this.submit.textContent = `Regenerate from ${spec}`;
  }

  private async send(): Promise<void> {
    const task = this.taskSelect.value;
    const text = this.text.value.trim();
    if (text === '') {
      this.setProgress('Write what you saw and what should change first.', true);
      return;
    }
    this.submit.disabled = true;
    try {
      this.setProgress('sending…');
      const { job } = await postJson<FeedbackStarted>(`/api/priors/${encodeURIComponent(task)}/feedback`, {
        text,
        from: this.shown,
      });
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        const state = await getJson<JobResponse>(`/api/jobs/${encodeURIComponent(job)}`);
        if (state.state === 'running') {
          this.setProgress(state.progress);
          continue;
        }
        if (state.state === 'failed' || !state.result) throw new Error(state.error ?? 'the round failed');
        const { version, successRate } = state.result;
        this.setProgress(`v${version} stored: success ${percent(successRate)}`);
        this.text.value = '';
        if (this.taskSelect.value === task) await this.loadTask(`v${version}`);
        this.onNewVersion(task, version);
        return;
      }
    } catch (error) {
      this.setProgress((error as Error).message, true);
    } finally {
      this.submit.disabled = false;
    }
  }

  private setProgress(text: string, isError = false): void {
    this.progress.textContent = text;
    this.progress.classList.toggle('error', isError);
  }
}

function percent(rate: number): string {
  return `${(100 * rate).toFixed(0)}%`;
}

/** Diff lines as spans, coloured by their first character. */
function diffLines(diff: string): HTMLSpanElement[] {
  return diff.split('\n').map((line) => {
    const span = document.createElement('span');
    if (line.startsWith('+') && !line.startsWith('+++')) span.className = 'add';
    else if (line.startsWith('-') && !line.startsWith('---')) span.className = 'del';
    span.textContent = `${line}\n`;
    return span;
  });
}
