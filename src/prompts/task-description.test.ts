import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArmEnv } from '../../sim/env.js';
import { taskNames } from '../../sim/tasks/registry.js';
import {
  HELPERS_SOURCE,
  type ObservationLayout,
  observationLayout,
} from '../contract/controller-contract.js';
import { PromptInputError } from './errors.js';
import { feedbackMessage, initialMessages, renderGuidelines } from './messages.js';
import { describeTask } from './task-description.js';

/** One env per registered task: the layout comes from the env's real observation fields. */
const envs = new Map<string, ArmEnv>();

beforeAll(async () => {
  for (const name of taskNames()) envs.set(name, await ArmEnv.create({ task: name }));
});

afterAll(() => {
  for (const env of envs.values()) env.close();
});

function layoutOf(env: ArmEnv): ObservationLayout {
  return observationLayout(env.observationFields, env.task.goalFields, env.actionSize);
}

describe('describeTask', () => {
  it.each(taskNames())('%s: names every observation and goal field with its unit and meaning', (name) => {
    const env = envs.get(name)!;
    const layout = layoutOf(env);
    const text = describeTask(env.task, layout);
    for (const field of layout.fields) {
      const row = text.split('\n').find((line) => line.startsWith(`| \`obs.${field.name}\` |`));
      expect(row, `row of obs.${field.name}`).toBeDefined();
      expect(row).toContain(`| ${field.unit} |`);
      expect(row).toContain(field.description);
      expect(row).toContain(field.size === 1 ? 'number' : `array of ${field.size}`);
    }
    for (const goal of env.task.goalFields) {
      expect(text).toContain(goal.name);
      expect(text).toContain(goal.description);
    }
    expect(text).toContain('`obs.desiredGoal`');
    expect(text).toContain('`obs.achievedGoal`');
    expect(text).not.toMatch(/\{\{|\}\}/);
  });

  it.each(taskNames())('%s: states the action, its scale, success and the episode length', (name) => {
    const env = envs.get(name)!;
    const { config } = env.task;
    const text = describeTask(env.task, layoutOf(env));
    expect(text).toContain(`# Task: ${name}`);
    expect(text).toContain(env.task.usesGripper ? '[dx, dy, dz, gripper]' : '[dx, dy, dz]');
    expect(text).toContain(
      env.task.usesGripper ? '1 = fully open, -1 = fully closed' : 'fingers are held closed',
    );
    expect(text).toContain(`by up to ${env.robot.control.maxEeStepM} m in one step of ${config.ctrlDtSec} s`);
    expect(text).toContain(`at most ${config.maxEpisodeSteps} steps`);
    expect(text).toMatch(/\*\*Goal and success\.\*\*/);
    expect(text).toMatch(/\*\*Objects\.\*\*/);
    // The robot's base from config/robots/panda.yaml, not a number written into a template.
    expect(text).toContain(`(${env.robot.basePos.join(', ')})`);
  });

  it('takes the numbers in the task notes from the task config', () => {
    const env = envs.get('push')!;
    const text = describeTask(env.task, layoutOf(env));
    expect(text).toContain(`within ${env.task.config.distanceThresholdM} m of the goal`);
    const drawer = envs.get('open-drawer')!;
    expect(describeTask(drawer.task, layoutOf(drawer))).toMatch(/between 0\.1 m and\s+0\.16 m/);
  });

  it("refuses a layout that belongs to another task's env", () => {
    const push = envs.get('push')!;
    const drawer = envs.get('open-drawer')!;
    expect(() => describeTask(push.task, layoutOf(drawer))).toThrow(PromptInputError);
    expect(() => describeTask(push.task, layoutOf(drawer))).toThrow(/lacks objectPosition/);
  });
});

describe('messages', () => {
  it('opens with the role and the coding guidelines as system message, then the task', () => {
    const env = envs.get('pick-and-place')!;
    const messages = initialMessages(env.task, layoutOf(env));
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    const system = messages[0]!.content;
    expect(system).toContain('expert robotics engineer');
    expect(system).toContain('export function act(obs, ctx)');
    expect(system).toContain('exactly\n  4 finite numbers');
    // The helper API exactly as the sandbox defines it.
    expect(system).toContain(HELPERS_SOURCE.trim());
    for (const rule of ['ctx.memory', 'ctx.step', 'ctx.dt', 'ctx.maxSteps', 'Math.random', 'require']) {
      expect(system).toContain(rule);
    }
    expect(messages[1]!.content).toContain('# Task: pick-and-place');
  });

  it('shows the gripper in the example only when the task has one', () => {
    const reach = envs.get('reach')!;
    expect(renderGuidelines(layoutOf(reach))).toContain('return move;');
    expect(renderGuidelines(layoutOf(envs.get('open-drawer')!))).toContain('return [...move, 1]');
  });

  it('puts the previous code in a block its own backticks cannot close, with feedback and summary', () => {
    const code = 'export function act() {\n  const s = "```";\n  return [0, 0, 0];\n}';
    const message = feedbackMessage({
      previousCode: code,
      feedback: 'it never reaches the cube',
      rolloutSummary: 'success 0/20',
    });
    expect(message.role).toBe('user');
    expect(message.content).toContain(`\`\`\`\`javascript\n${code}\n\`\`\`\``);
    expect(message.content).toContain('it never reaches the cube');
    expect(message.content).toContain('success 0/20');
    expect(feedbackMessage({ previousCode: code, feedback: ' ', rolloutSummary: '' }).content).toContain(
      '(no comment from the person this time)',
    );
  });
});
