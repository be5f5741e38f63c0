import type { SceneReplay } from '../../episodes/scene/scene-replay-format.js';
import type { ReplaysResponse } from '../api-types.js';
import { byId, getJson, setOptions } from './api.js';
import { ReplayScene } from './replay-scene.js';
import { RewardChart } from './reward-chart.js';

/**
 * The episode panel: pick task → source (a prior version or a run) → episode, then watch it in
 * 3D with play/pause, speed and a frame slider, beside its reward over time.
 */
export class ScenePanel {
  private readonly taskSelect = byId<HTMLSelectElement>('replay-task');
  private readonly sourceSelect = byId<HTMLSelectElement>('replay-source');
  private readonly episodeSelect = byId<HTMLSelectElement>('replay-episode');
  private readonly playButton = byId<HTMLButtonElement>('play');
  private readonly speedSelect = byId<HTMLSelectElement>('speed');
  private readonly scrub = byId<HTMLInputElement>('scrub');
  private readonly readout = byId<HTMLElement>('frame-readout');
  private readonly info = byId<HTMLElement>('episode-info');
  private readonly empty = byId<HTMLElement>('scene-empty');
  private readonly scene = new ReplayScene(byId<HTMLCanvasElement>('scene-canvas'));
  private readonly chart = new RewardChart(byId('reward-chart'));
  private sources: ReplaysResponse['sources'] = [];
  private replay: SceneReplay | undefined;
  private frame = 0;
  private playing = false;
  /** Playback position in episode seconds; frames are `ctrlDtSec` apart. */
  private timeSec = 0;
  private lastTickMs: number | undefined;

  constructor(tasks: readonly string[]) {
    setOptions(
      this.taskSelect,
      tasks.map((t) => ({ value: t, label: t })),
    );
    this.taskSelect.addEventListener('change', () => void this.loadSources());
    this.sourceSelect.addEventListener('change', () => this.fillEpisodes());
    this.episodeSelect.addEventListener('change', () => void this.loadEpisode());
    this.playButton.addEventListener('click', () => this.setPlaying(!this.playing));
    this.scrub.addEventListener('input', () => {
      this.showFrame(Number(this.scrub.value));
      this.timeSec = this.frame * (this.replay?.ctrlDtSec ?? 0);
    });
  }

  /**
   * Selects `task` and (re)lists its replays, e.g. after a feedback round recorded new ones;
   * `source` (`prior:v3`) is shown if it has episodes.
   */
  async selectTask(task: string, source?: string): Promise<void> {
    this.taskSelect.value = task;
    await this.loadSources(source);
  }

  get task(): string {
    return this.taskSelect.value;
  }

  private async loadSources(prefer?: string): Promise<void> {
    const task = this.taskSelect.value;
    if (!task) return;
    const current = this.sourceSelect.value;
    const response = await getJson<ReplaysResponse>(`/api/replays?task=${encodeURIComponent(task)}`);
    if (task !== this.taskSelect.value) return; // another task was picked meanwhile
    this.sources = response.sources;
    const keep = this.sources.some((s) => s.source === prefer) ? prefer : current;
    setOptions(
      this.sourceSelect,
      this.sources.map((s) => ({ value: s.source, label: `${s.label} (${s.episodes.length})` })),
      keep,
    );
    this.fillEpisodes();
  }

  /** Lists the chosen source's episodes; the one on show stays on show if it is still listed. */
  private fillEpisodes(): void {
    const source = this.sources.find((s) => s.source === this.sourceSelect.value);
    const current = this.episodeSelect.value;
    setOptions(
      this.episodeSelect,
      (source?.episodes ?? []).map((e) => ({ value: e.id, label: e.name.replace(/\.json$/, '') })),
      current,
    );
    if (this.replay === undefined || this.episodeSelect.value !== current) void this.loadEpisode();
  }

  private async loadEpisode(): Promise<void> {
    const id = this.episodeSelect.value;
    this.setPlaying(false);
    if (!id) {
      this.replay = undefined;
      this.empty.hidden = false;
      this.info.textContent = '';
      this.readout.textContent = '';
      this.chart.clear();
      return;
    }
    const replay = await getJson<SceneReplay>(
      `/api/replay/${id.split('/').map(encodeURIComponent).join('/')}`,
    );
    if (id !== this.episodeSelect.value) return;
    this.replay = replay;
    this.empty.hidden = true;
    this.info.textContent = `${replay.success ? 'success' : 'failure'} · return ${replay.return.toFixed(2)} · ${replay.actor} · seed ${replay.seed}`;
    this.info.dataset.success = String(replay.success);
    this.scrub.max = String(replay.frames.length - 1);
    this.scene.load(replay);
    this.chart.show(replay);
    this.timeSec = 0;
    this.showFrame(0);
  }

  private showFrame(index: number): void {
    const replay = this.replay;
    if (!replay) return;
    this.frame = Math.max(0, Math.min(replay.frames.length - 1, Math.round(index)));
    this.scrub.value = String(this.frame);
    this.scene.showFrame(this.frame);
    this.chart.moveCursor(this.frame);
    const frame = replay.frames[this.frame]!;
    this.readout.textContent = `frame ${this.frame}/${replay.frames.length - 1} · t ${(this.frame * replay.ctrlDtSec).toFixed(2)} s · reward ${frame.reward.toFixed(3)}${frame.success ? ' · solved' : ''}`;
    this.readout.dataset.frame = String(this.frame);
  }

  private setPlaying(playing: boolean): void {
    const replay = this.replay;
    if (playing && replay && this.frame >= replay.frames.length - 1) this.timeSec = 0; // replay from the start
    this.playing = playing && replay !== undefined;
    this.playButton.textContent = this.playing ? 'Pause' : 'Play';
    this.lastTickMs = undefined;
    if (this.playing) requestAnimationFrame((t) => this.tick(t));
  }

  /** One animation frame of playback: wall time × speed advances episode time. */
  private tick(nowMs: number): void {
    const replay = this.replay;
    if (!this.playing || !replay) return;
    if (this.lastTickMs !== undefined) {
      this.timeSec += ((nowMs - this.lastTickMs) / 1000) * Number(this.speedSelect.value);
    }
    this.lastTickMs = nowMs;
    const last = replay.frames.length - 1;
    const index = Math.min(last, Math.floor(this.timeSec / replay.ctrlDtSec));
    if (index !== this.frame) this.showFrame(index);
    if (index >= last) this.setPlaying(false);
    else requestAnimationFrame((t) => this.tick(t));
  }
}
