import { existsSync } from 'node:fs';
import { loadYamlConfig, parseConfig } from '../../src/core/config-file.js';
import { UnknownNameError } from '../../src/core/errors.js';
import { configPath } from '../../src/core/paths.js';
import { openDrawerTask } from './open-drawer.js';
import { pickAndPlaceTask } from './pick-and-place.js';
import { pushTask } from './push.js';
import { reachTask } from './reach.js';
import { slideTask } from './slide.js';
import type { Task, TaskDefinition } from './task.js';

/** Every built-in task, in the order `armprior tasks` lists them. */
const TASKS: readonly TaskDefinition[] = [
  reachTask,
  pushTask,
  pickAndPlaceTask,
  slideTask,
  openDrawerTask,
] as never;

/** panda-gym-style aliases accepted on the command line. */
const ALIASES: Readonly<Record<string, string>> = {
  pickandplace: 'pick-and-place',
  pick_and_place: 'pick-and-place',
  drawer: 'open-drawer',
  opendrawer: 'open-drawer',
};

export function taskNames(): string[] {
  return TASKS.map((t) => t.name);
}

export function taskDefinitions(): readonly TaskDefinition[] {
  return TASKS;
}

/** The definition for a name (or alias); unknown names get an error listing the known ones. */
export function taskDefinition(name: string): TaskDefinition {
  const key = name.toLowerCase();
  const canonical = ALIASES[key] ?? key;
  const def = TASKS.find((t) => t.name === canonical);
  if (!def) throw new UnknownNameError('task', name, taskNames());
  return def;
}

/**
 * Builds a task from `config/tasks/<name>.yaml` (when present), with `overrides` merged on top
 * (shallowly, key by key) and the result validated once.
 */
export function createTask(name: string, overrides: Record<string, unknown> = {}): Task {
  const def = taskDefinition(name);
  const file = configPath('tasks', `${def.name}.yaml`);
  const base = existsSync(file) ? (loadYamlConfig(file, def.schema) as Record<string, unknown>) : {};
  const merged = { ...base, ...overrides };
  const source = Object.keys(overrides).length > 0 ? `${file} (with overrides)` : file;
  return def.create(parseConfig(source, merged, def.schema));
}
