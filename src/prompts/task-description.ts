import { taskDefinition } from '../../sim/tasks/registry.js';
import type { Task } from '../../sim/tasks/task.js';
import { actionHasGripper, type ObservationLayout } from '../contract/controller-contract.js';
import { loadRobotConfig, type RobotConfig } from '../robot-config/robot-config.js';
import { PromptInputError, TemplateError } from './errors.js';
import { loadTemplate, placeholdersOf, render, type Template } from './templates.js';

/** What {@link describeTask} needs besides the task and its layout. */
export interface TaskDescriptionOptions {
  /** The robot the controller drives (action scale, base, workspace); default: the built-in `panda`. */
  readonly robot?: RobotConfig;
}

/**
 * The task description the LLM gets (RLingua §III-A: the task, the observation, the action),
 * rendered from `templates/task.md`. Everything is generated from the registry and config,
 * so it cannot drift from the env: every observation field with its meaning and unit (from the
 * layout), the goal, the action's meaning and scale (robot `control.maxEeStepM`, task
 * `ctrlDtSec`), the success criterion and the episode length. What cannot be read from code
 * (which objects there are, what success means) comes from `templates/tasks/<task>.md`, whose
 * `{{placeholders}}` are the task's config fields, so its numbers follow the config too.
 */
export function describeTask(
  task: Task,
  layout: ObservationLayout,
  options: TaskDescriptionOptions = {},
): string {
  checkLayout(task, layout);
  const robot = options.robot ?? loadRobotConfig();
  const definition = taskDefinition(task.name);
  return render(loadTemplate('task'), {
    taskName: task.name,
    summary: `${capitalise(definition.description)}.`,
    frame: describeFrame(task, robot),
    taskNotes: renderTaskNotes(task),
    observationFields: describeObservation(layout),
    action: describeAction(task, robot),
    episode: describeEpisode(task),
  });
}

/** The action's layout in words, e.g. `[dx, dy, dz, gripper]`; shared with the coding guidelines. */
export function actionLayoutText(actionSize: number): string {
  return actionHasGripper(actionSize) ? '[dx, dy, dz, gripper]' : '[dx, dy, dz]';
}

/** A number as people write it: no float noise (0.30000000000000004 → 0.3). */
export function formatNumber(x: number): string {
  return Number(x.toPrecision(6)).toString();
}

/** The layout must be the one of this task's env, or the prompt would describe another task. */
function checkLayout(task: Task, layout: ObservationLayout): void {
  const expectedAction = task.usesGripper ? 4 : 3;
  const names = new Set(layout.fields.map((f) => f.name));
  const missing = task.observationFields.filter((f) => !names.has(f.name)).map((f) => f.name);
  const goalSize = task.goalFields.reduce((n, f) => n + f.size, 0);
  if (missing.length > 0 || layout.actionSize !== expectedAction || layout.goalSize !== goalSize) {
    throw new PromptInputError(
      `the observation layout does not belong to task '${task.name}'` +
        (missing.length > 0 ? `: it lacks ${missing.join(', ')}` : '') +
        ` (action size ${layout.actionSize}, task expects ${expectedAction}; goal size ${layout.goalSize}, task has ${goalSize})`,
    );
  }
}

function describeFrame(task: Task, robot: RobotConfig): string {
  const { table } = task.config;
  const [bx, by, bz] = robot.basePos.map(formatNumber);
  const xLow = formatNumber(table.xOffsetM - table.lengthM / 2);
  const xHigh = formatNumber(table.xOffsetM + table.lengthM / 2);
  const yHalf = formatNumber(table.widthM / 2);
  const lo = robot.control.workspaceMin.map(formatNumber);
  const hi = robot.control.workspaceMax.map(formatNumber);
  return [
    'All positions are in the task frame, in metres: the origin is at the centre of the table top,',
    "x points away from the robot, y to the robot's left, z up.",
    `The robot's base is at (${bx}, ${by}, ${bz}).`,
    `The table top is at z = 0 and spans x from ${xLow} to ${xHigh} and y from -${yHalf} to ${yHalf}.`,
    `The end-effector is kept inside x ∈ [${lo[0]}, ${hi[0]}], y ∈ [${lo[1]}, ${hi[1]}], z ∈ [${lo[2]}, ${hi[2]}];`,
    'commands beyond that box are clipped. The gripper always points straight down.',
  ].join('\n');
}

/** `templates/tasks/<task>.md`, its placeholders filled from the task's config. */
function renderTaskNotes(task: Task): string {
  const notes: Template = loadTemplate(`tasks/${task.name}`);
  const config = task.config as unknown as Record<string, unknown>;
  const values: Record<string, string> = {};
  for (const name of placeholdersOf(notes)) {
    const value = config[name];
    if (typeof value === 'number') values[name] = formatNumber(value);
    else if (typeof value === 'string' || typeof value === 'boolean') values[name] = String(value);
    else {
      throw new TemplateError(
        notes.name,
        `{{${name}}} is not a number, string or boolean field in the config of task '${task.name}'`,
        { missing: [name] },
      );
    }
  }
  return render(notes, values).trim();
}

function describeObservation(layout: ObservationLayout): string {
  const rows = layout.fields.map((f) => row(`obs.${f.name}`, shape(f.size), f.unit, f.description));
  const goalUnit = [...new Set(layout.goalFields.map((f) => f.unit))].join(', ');
  const goalParts = layout.goalFields.map(
    (f) => `${f.name}${layout.goalFields.length > 1 ? ` (${f.size} values)` : ''}: ${f.description}`,
  );
  rows.push(
    row('obs.desiredGoal', `array of ${layout.goalSize}`, goalUnit, `the goal — ${goalParts.join('; ')}`),
    row(
      'obs.achievedGoal',
      `array of ${layout.goalSize}`,
      goalUnit,
      'the same quantity as `obs.desiredGoal`, as it is now',
    ),
  );
  return [
    `\`obs\` is an object with these fields (${layout.observationSize} observation values in all):`,
    '',
    '| field | value | unit | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function describeAction(task: Task, robot: RobotConfig): string {
  const stepM = robot.control.maxEeStepM;
  const dt = task.config.ctrlDtSec;
  const n = task.usesGripper ? 4 : 3;
  const lines = [
    `An array of ${n} numbers, ${actionLayoutText(n)}, each in [-1, 1] (values outside are clipped):`,
    '',
    `- \`dx\`, \`dy\`, \`dz\`: the end-effector displacement for this step along x, y and z of the task frame.`,
    `  1 moves it by up to ${formatNumber(stepM)} m in one step of ${formatNumber(dt)} s (${formatNumber(stepM / dt)} m/s);`,
    "  the arm's joint speed limits can make the real motion smaller, and the commanded point never",
    '  runs more than one step ahead of where the end-effector is.',
  ];
  if (task.usesGripper) {
    lines.push(
      '- `gripper`: the finger command, absolute (not a change): 1 = fully open, -1 = fully closed,',
      '  values in between open the fingers part way. The fingers take a few steps to get there.',
    );
  } else {
    lines.push('', 'There is no gripper value in this task: the fingers are held closed.');
  }
  return lines.join('\n');
}

function describeEpisode(task: Task): string {
  const { maxEpisodeSteps, ctrlDtSec, terminateOnSuccess } = task.config;
  return [
    `An episode lasts at most ${maxEpisodeSteps} steps (\`ctx.maxSteps\`) of ${formatNumber(ctrlDtSec)} s (\`ctx.dt\`),`,
    `${formatNumber(maxEpisodeSteps * ctrlDtSec)} s of simulated time; then it is cut off.`,
    terminateOnSuccess
      ? 'It ends as soon as the goal is reached.'
      : 'It does not end when the goal is reached: once there, hold the goal until the episode ends.',
  ].join('\n');
}

function shape(size: number): string {
  return size === 1 ? 'number' : `array of ${size}`;
}

function row(...cells: string[]): string {
  // A `|` inside a description would split the Markdown table cell.
  return `| ${cells.map((c, i) => (i === 0 ? `\`${c}\`` : c.replaceAll('|', '\\|'))).join(' | ')} |`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
