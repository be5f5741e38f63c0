import type { TasksResponse } from '../api-types.js';
import { byId, getJson } from './api.js';
import { CurvesPanel } from './curves-panel.js';
import { FeedbackPanel } from './feedback-panel.js';
import { QueuePanel } from './queue-panel.js';
import { ScenePanel } from './scene-panel.js';

/**
 * The viewer page (`armprior view`, issue #6): episodes in 3D, learning curves, feedback.
 * Bundled with three.js into dist/viewer/app.js by scripts/build-viewer.mjs; loads nothing
 * from outside the server.
 */
async function start(): Promise<void> {
  const status = byId('status');
  const { tasks } = await getJson<TasksResponse>('/api/tasks');
  const names = tasks.map((t) => t.name);
  // Open on a task that has something to show: episodes to replay, else versions or runs.
  const first =
    tasks.find((t) => t.episodes > 0)?.name ??
    tasks.find((t) => t.versions > 0 || t.runs > 0)?.name ??
    names[0] ??
    '';
  const scene = new ScenePanel(names);
  // A new version's evaluation episodes become replays: show them in the episode panel.
  const feedback = new FeedbackPanel(names, (task, version) => {
    if (scene.task === task) void scene.selectTask(task, `prior:v${version}`);
  });
  const curves = new CurvesPanel();
  await Promise.all([scene.selectTask(first), feedback.selectTask(first), curves.start()]);
  await new QueuePanel(curves).start();
  status.textContent = 'ready';
  document.body.dataset.ready = 'true';
}

start().catch((error: unknown) => {
  const status = document.getElementById('status');
  if (status) status.textContent = `error: ${(error as Error).message}`;
  document.body.dataset.ready = 'error';
});
