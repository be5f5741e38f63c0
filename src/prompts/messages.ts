import type { Task } from '../../sim/tasks/task.js';
import { actionHasGripper, HELPERS_SOURCE, type ObservationLayout } from '../contract/controller-contract.js';
import type { ChatMessage } from './chat.js';
import { actionLayoutText, describeTask, type TaskDescriptionOptions } from './task-description.js';
import { fenced, loadTemplate, render } from './templates.js';

/**
 * The coding guidelines (`templates/guidelines.md`): the controller contract, the helper API
 * (the exact source the sandbox evaluates, so the documentation cannot drift from it), the action
 * range, no I/O, the reply format.
 */
export function renderGuidelines(layout: ObservationLayout): string {
  return render(loadTemplate('guidelines'), {
    actionSize: String(layout.actionSize),
    actionLayout: actionLayoutText(layout.actionSize),
    actionReturnExample: actionHasGripper(layout.actionSize)
      ? '[...move, 1]; // gripper: 1 = open … -1 = closed'
      : 'move;',
    helpersSource: fenced(HELPERS_SOURCE.trim(), 'js'),
  });
}

/**
 * The opening conversation of RLingua's prompt (§III-A): a system message (the role, then the
 * coding guidelines, which hold for the whole conversation) and a user message with the task.
 */
export function initialMessages(
  task: Task,
  layout: ObservationLayout,
  options: TaskDescriptionOptions = {},
): ChatMessage[] {
  return [
    {
      role: 'system',
      content: `${render(loadTemplate('system'), {}).trim()}\n\n${renderGuidelines(layout)}`,
    },
    { role: 'user', content: describeTask(task, layout, options) },
  ];
}

/** What a feedback round tells the model (RLingua §III-B: human feedback refines the prompt). */
export interface FeedbackContent {
  /** The code the feedback is about. */
  readonly previousCode: string;
  /** What the person said; empty when only the automatic summary is given. */
  readonly feedback: string;
  /** The automatic critic: success rate, final distances, where episodes fail. */
  readonly rolloutSummary: string;
}

/** The user message of a feedback round (`templates/feedback.md`). */
export function feedbackMessage(content: FeedbackContent): ChatMessage {
  return {
    role: 'user',
    content: render(loadTemplate('feedback'), {
      previousCode: fenced(content.previousCode.trim(), 'javascript'),
      feedback:
        content.feedback.trim() === '' ? '(no comment from the person this time)' : content.feedback.trim(),
      rolloutSummary:
        content.rolloutSummary.trim() === ''
          ? '(no rollout summary available)'
          : content.rolloutSummary.trim(),
    }),
  };
}

/** The user message that tells the model why its last reply could not be used (`templates/correction.md`). */
export function correctionMessage(problem: string): ChatMessage {
  return { role: 'user', content: render(loadTemplate('correction'), { problem }) };
}
