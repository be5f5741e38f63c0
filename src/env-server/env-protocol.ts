import { z } from 'zod';

// The env server's protocol (issue #21): how a process in another language (the Python
// Gymnasium package in python/) steps an armprior task. One JSON object per line each way, over
// the server's stdin and stdout; every request carries an `id` that its answer repeats. Version 1;
// `hello` first, and a client that speaks another version is told so and refused.
//
//   → {"id":1,"op":"hello","protocol":1}            ← {"id":1,"ok":true,"result":{"protocol":1,"armprior":"0.1.0"}}
//   → {"id":2,"op":"make","task":"push"}             ← {"id":2,"ok":true,"result":{<the env's spaces>}}
//   → {"id":3,"op":"reset","seed":0}                 ← {"id":3,"ok":true,"result":{"observation":[…],"achieved_goal":[…],"desired_goal":[…],"info":{"is_success":false}}}
//   → {"id":4,"op":"step","action":[0,0,0]}          ← {…,"result":{…,"reward":-1,"terminated":false,"truncated":false,"info":{…}}}
//   → {"id":5,"op":"compute_reward","achieved_goal":[[…],…],"desired_goal":[[…],…]}  ← {…,"result":{"reward":[…]}}
//   → {"id":6,"op":"close"}                          ← {"id":6,"ok":true,"result":{}} and the server exits 0
//
// A request that fails is answered {"id":…,"ok":false,"error":{"code":…,"message":…}} and the
// server goes on serving.

export const ENV_PROTOCOL_VERSION = 1;

const vector = z.array(z.number());

export const EnvRequestSchema = z.discriminatedUnion('op', [
  z.object({ id: z.number().int(), op: z.literal('hello'), protocol: z.number().int() }).strict(),
  z
    .object({
      id: z.number().int(),
      op: z.literal('make'),
      task: z.string().min(1),
      robot: z.string().min(1).optional(),
      reward_type: z.enum(['sparse', 'dense']).optional(),
    })
    .strict(),
  z
    .object({
      id: z.number().int(),
      op: z.literal('reset'),
      seed: z
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 1)
        .optional(),
    })
    .strict(),
  z.object({ id: z.number().int(), op: z.literal('step'), action: vector }).strict(),
  z
    .object({
      id: z.number().int(),
      op: z.literal('compute_reward'),
      achieved_goal: z.array(vector),
      desired_goal: z.array(vector),
    })
    .strict(),
  z.object({ id: z.number().int(), op: z.literal('close') }).strict(),
]);
export type EnvRequest = z.output<typeof EnvRequestSchema>;

/** What `make` answers: the spaces a Gymnasium env declares. */
export interface EnvSpec {
  task: string;
  robot: string;
  observation_size: number;
  goal_size: number;
  action_size: number;
  observation_fields: { name: string; size: number }[];
  max_episode_steps: number;
  ctrl_dt_s: number;
  reward_type: string;
  distance_threshold_m: number;
}

export type EnvAnswer =
  | { id: number | null; ok: true; result: unknown }
  | { id: number | null; ok: false; error: { code: string; message: string } };
