import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ArmEnv, type GoalObservation } from '../../sim/env.js';
import { ArmpriorError, messageOf } from '../core/errors.js';
import {
  ENV_PROTOCOL_VERSION,
  type EnvAnswer,
  type EnvRequest,
  EnvRequestSchema,
  type EnvSpec,
} from './env-protocol.js';

/** Longest request line accepted: a compute_reward over a large HER batch stays far below it. */
const MAX_LINE_CHARS = 64 * 2 ** 20;

/**
 * Serves one env over a line protocol (env-protocol.ts) until `close` or the end of the input:
 * what the Python Gymnasium package talks to. Requests are answered one at a time, in order.
 */
export async function serveEnv(input: Readable, output: Writable, armpriorVersion: string): Promise<void> {
  let env: ArmEnv | undefined;
  let greeted = false;
  const send = (answer: EnvAnswer) => output.write(`${JSON.stringify(answer)}\n`);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      let id: number | null = null;
      try {
        if (line.length > MAX_LINE_CHARS)
          throw new ProtocolError('bad_request', `a request of ${line.length} characters`);
        const request = parseRequest(line);
        id = request.id;
        if (request.op !== 'hello' && !greeted)
          throw new ProtocolError(
            'no_hello',
            `say hello first ({"op":"hello","protocol":${ENV_PROTOCOL_VERSION}})`,
          );
        const result = await answer(request);
        send({ id, ok: true, result });
        if (request.op === 'close') return;
      } catch (error) {
        send({ id, ok: false, error: { code: codeOf(error), message: messageOf(error) } });
      }
    }
  } finally {
    lines.close();
    env?.close();
  }

  async function answer(request: EnvRequest): Promise<unknown> {
    switch (request.op) {
      case 'hello':
        if (request.protocol !== ENV_PROTOCOL_VERSION) {
          throw new ProtocolError(
            'protocol_version',
            `this armprior speaks env protocol ${ENV_PROTOCOL_VERSION}, the client ${request.protocol}: install the Python package from this armprior's python/ folder`,
          );
        }
        greeted = true;
        return { protocol: ENV_PROTOCOL_VERSION, armprior: armpriorVersion };
      case 'make':
        env?.close();
        env = undefined;
        env = await ArmEnv.create({
          task: request.task,
          ...(request.robot ? { robot: request.robot } : {}),
          taskOverrides: request.reward_type ? { rewardType: request.reward_type } : {},
        });
        return specOf(env);
      case 'reset': {
        const { obs, info } = made().reset(request.seed === undefined ? {} : { seed: request.seed });
        return { ...goalObservation(obs), info: { is_success: info.isSuccess } };
      }
      case 'step': {
        const result = made().step(request.action);
        return {
          ...goalObservation(result.obs),
          reward: result.reward,
          terminated: result.terminated,
          truncated: result.truncated,
          info: {
            is_success: result.info.isSuccess,
            reward_terms: result.info.rewardTerms,
            ...(result.info.simUnstable ? { sim_unstable: true } : {}),
          },
        };
      }
      case 'compute_reward': {
        const e = made();
        if (request.achieved_goal.length !== request.desired_goal.length)
          throw new ProtocolError(
            'bad_request',
            `compute_reward: ${request.achieved_goal.length} achieved goals, ${request.desired_goal.length} desired`,
          );
        const goalSize = e.goalSize;
        request.achieved_goal.forEach((a, i) => {
          const d = request.desired_goal[i]!;
          if (a.length !== goalSize || d.length !== goalSize)
            throw new ProtocolError(
              'bad_request',
              `compute_reward: goal ${i} has ${a.length} and ${d.length} values, task '${e.task.name}' has goals of ${goalSize}`,
            );
        });
        return { reward: request.achieved_goal.map((a, i) => e.computeReward(a, request.desired_goal[i]!)) };
      }
      case 'close':
        return {};
    }
  }

  function made(): ArmEnv {
    if (!env) throw new ProtocolError('no_env', 'no env yet: send make first');
    return env;
  }
}

class ProtocolError extends ArmpriorError {}

function parseRequest(line: string): EnvRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ProtocolError('bad_request', `not JSON: ${line.slice(0, 80)}`);
  }
  const parsed = EnvRequestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ProtocolError('bad_request', `${issue.path.join('.') || 'the request'}: ${issue.message}`);
  }
  return parsed.data;
}

function codeOf(error: unknown): string {
  return error instanceof ArmpriorError ? error.code : 'internal';
}

function goalObservation(obs: GoalObservation) {
  return {
    observation: Array.from(obs.observation),
    achieved_goal: Array.from(obs.achievedGoal),
    desired_goal: Array.from(obs.desiredGoal),
  };
}

function specOf(env: ArmEnv): EnvSpec {
  return {
    task: env.task.name,
    robot: env.robot.name,
    observation_size: env.observationSize,
    goal_size: env.goalSize,
    action_size: env.actionSize,
    observation_fields: env.observationFields.map((f) => ({ name: f.name, size: f.size })),
    max_episode_steps: env.task.config.maxEpisodeSteps,
    ctrl_dt_s: env.task.config.ctrlDtSec,
    reward_type: env.task.config.rewardType,
    distance_threshold_m: env.task.config.distanceThresholdM,
  };
}
