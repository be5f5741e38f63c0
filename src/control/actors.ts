import { type GoalObservation, observationFieldsOf } from '../../sim/env.js';
import type { Task } from '../../sim/tasks/task.js';
import { createPriorController, type ResolvedPrior } from '../controllers/priors.js';
import type { SandboxedController } from '../controllers/sandboxed-controller.js';
import { ArmpriorError } from '../core/errors.js';
import { OnnxPolicy, PolicyLoadError } from '../rl/onnx-policy.js';

/**
 * What proposes an action each tick of the control loop: a prior controller in its sandbox or
 * an ONNX policy. Both read the task's goal observation and answer in the task's action space
 * (end-effector displacement, plus the gripper where the task uses it).
 */
export interface Actor {
  /** For reports and datasets: `prior:push:v3`, `policy:runs/…/policy.onnx`. */
  readonly label: string;
  /** The prior version consulted, for dataset metadata. */
  readonly priorVersion?: string;
  readonly actionSize: number;
  /** A new episode begins (phase machines restart). */
  reset(): void;
  /**
   * The action for `obs`. `signal` aborts when the loop gives up on this step (its deadline
   * passed): the actor stops waiting for its answer and frees what the call held.
   */
  act(obs: GoalObservation, signal?: AbortSignal): ArrayLike<number> | Promise<ArrayLike<number>>;
  close(): Promise<void>;
}

/** An actor that cannot go on: it returned a non-finite action, or its sandbox gave up. */
export class ActorFault extends ArmpriorError {
  constructor(message: string) {
    super('actor_fault', message);
  }
}

/**
 * A prior controller (LLM-written or bundled) in its sandbox process. A failed call is answered
 * with a zero action and counted, as in simulation; once the sandbox says the episode must end
 * (too many failures, its process gone: memory, a crash, a call the loop abandoned), the actor
 * faults and the loop stops the robot.
 */
export async function priorActor(task: Task, prior: ResolvedPrior): Promise<Actor> {
  const fields = observationFieldsOf(task);
  const actionSize = task.usesGripper ? 4 : 3;
  const controller: SandboxedController = await createPriorController(
    { observationFields: fields, actionSize, task },
    prior,
  );
  const label = `prior:${prior.task}:${prior.version === 'bundled' ? 'bundled' : `v${prior.version}`}`;
  // Once the prior has given up it stays given up, new episodes included: on a robot a
  // controller that had to be stopped (its sandbox killed, too many failures) ends the run. The
  // call that found it may have been abandoned by the loop, so the next call says it again.
  let fault: ActorFault | undefined;
  return {
    label,
    priorVersion: prior.version === 'bundled' ? 'bundled' : `v${prior.version}`,
    actionSize,
    reset: () => {
      if (fault === undefined) controller.reset();
    },
    async act(obs, signal) {
      if (fault) throw fault;
      const action = await controller.act(obs.observation, obs.achievedGoal, obs.desiredGoal, signal);
      const abort = controller.abortReason();
      if (abort) {
        fault = new ActorFault(`${label}: ${abort}`);
        throw fault;
      }
      return action;
    },
    close: async () => controller.dispose(),
  };
}

/**
 * An exported policy run with onnxruntime-node. Refused at load when its input size or its
 * observation fields do not match what the robot reports for this task.
 */
export async function policyActor(file: string, task: Task): Promise<Actor> {
  const fields = observationFieldsOf(task);
  const expectedNames = [...fields.map((f) => f.name), ...task.goalFields.map((f) => `desired_${f.name}`)];
  const inputSize = fields.reduce((n, f) => n + f.size, 0) + task.goalFields.reduce((n, f) => n + f.size, 0);
  const actionSize = task.usesGripper ? 4 : 3;
  const inputFields = [
    ...fields.map((f) => ({ name: f.name, size: f.size })),
    ...task.goalFields.map((f) => ({ name: `desired_${f.name}`, size: f.size })),
  ];
  const policy = await OnnxPolicy.load(file, { inputSize, actionSize, fields: inputFields });
  const names = policy.metadata.observationFields;
  if (names.length > 0 && names.join(',') !== expectedNames.join(',')) {
    await policy.close();
    throw new PolicyLoadError(
      `${file} was trained on observations [${names.join(', ')}] (task '${policy.metadata.task}'), but task '${task.name}' on this robot gives [${expectedNames.join(', ')}]`,
    );
  }
  return {
    label: `policy:${file}`,
    actionSize,
    reset() {},
    act: (obs) => policy.act(obs.observation, obs.desiredGoal),
    close: () => policy.close(),
  };
}

/** Throws {@link ActorFault} unless `action` has `size` finite values. */
export function checkAction(label: string, action: ArrayLike<number>, size: number, step: number): void {
  if (action.length !== size) {
    throw new ActorFault(`${label} returned ${action.length} values at step ${step}; the task takes ${size}`);
  }
  for (let i = 0; i < size; i++) {
    if (!Number.isFinite(action[i])) {
      throw new ActorFault(
        `${label} returned a non-finite action at step ${step}: [${Array.from(action).join(', ')}]`,
      );
    }
  }
}
