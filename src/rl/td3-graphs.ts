import {
  criticSizes,
  describedInputs as described,
  forward,
  imitationTerm,
  networkInputs as inputs,
  type NetworkSizes,
  type UpdateGraph,
} from './actor-critic-graphs.js';
import { type AdamConfig, adamUpdate, DEFAULT_ADAM } from './graph/adam.js';
import { gradients } from './graph/autodiff.js';
import { type Dim, GraphBuilder, type Value } from './graph/builder.js';

export { criticSizes, networkShapes, type UpdateGraph } from './actor-critic-graphs.js';

/**
 * TD3's two training steps as ONNX graphs (Fujimoto et al. 2018, "Addressing Function
 * Approximation Error in Actor-Critic Methods", Algorithm 1): the whole update — forward,
 * backward, loss, Adam and, for the actor step, the soft target update — runs inside
 * onnxruntime, and the host only feeds batches and carries the tensors from call to call.
 */
export interface Td3GraphConfig extends NetworkSizes {
  gamma: number;
  tau: number;
  /** Std of the target policy smoothing noise is applied on the host; its clip here. */
  targetNoiseClip: number;
  /**
   * RLingua's imitation term (arXiv 2403.06420, §III-C): the actor loss gets
   * + w · mean over prior-labelled rows of ‖π(s) − a_prior‖², with w an input (its schedule
   * decays on the host). Off: the plain TD3 actor.
   */
  imitation?: boolean;
  /**
   * Q-filter (Nair et al. 2018): imitate only where the critic rates the prior's action above
   * the policy's, Q1(s, a_prior) > Q1(s, π(s)).
   */
  qFilter?: boolean;
  adam?: Omit<AdamConfig, 'learningRate'>;
}

export function actorSizes(c: Td3GraphConfig): number[] {
  return [c.observationSize, ...c.hidden, c.actionSize];
}

/** The critics' step: clipped double-Q targets from the target networks, MSE, Adam on both critics. */
export function buildCriticUpdate(c: Td3GraphConfig): UpdateGraph {
  const g = new GraphBuilder('td3-critic-update');
  const batch: Dim = 'batch';
  const obs = g.input('obs', [batch, c.observationSize]);
  const action = g.input('action', [batch, c.actionSize]);
  const reward = g.input('reward', [batch, 1]);
  const notDone = g.input('not_done', [batch, 1]);
  const nextObs = g.input('next_obs', [batch, c.observationSize]);
  const noise = g.input('noise', [batch, c.actionSize]);
  const lrT = g.input('lr_t', []);
  const epsHat = g.input('eps_hat', []);
  const q1 = inputs(g, 'q1', criticSizes(c));
  const q2 = inputs(g, 'q2', criticSizes(c));
  const q1Target = inputs(g, 'q1_target', criticSizes(c));
  const q2Target = inputs(g, 'q2_target', criticSizes(c));
  const actorTarget = inputs(g, 'actor_target', actorSizes(c));
  const moments = [...q1, ...q2].map((p) => ({
    m: g.input(`m.${p.name}`, p.shape),
    v: g.input(`v.${p.name}`, p.shape),
  }));

  // Target policy smoothing (§5.3): a' = clip(π'(s') + clip(ε, −c, c), −1, 1).
  const nextAction = g.clip(
    g.add(forward(g, nextObs, actorTarget, 'tanh'), g.clip(noise, -c.targetNoiseClip, c.targetNoiseClip)),
    -1,
    1,
  );
  const nextInput = g.concat([nextObs, nextAction]);
  // Clipped double Q-learning (§4.2): y = r + γ (1 − done) min(Q1', Q2').
  const targetQ = g.min(forward(g, nextInput, q1Target, 'none'), forward(g, nextInput, q2Target, 'none'));
  const y = g.add(reward, g.mul(g.scalar(c.gamma), g.mul(notDone, targetQ)));
  const input = g.concat([obs, action]);
  const q1Value = forward(g, input, q1, 'none');
  const q2Value = forward(g, input, q2, 'none');
  const loss = g.add(g.reduceMean(g.square(g.sub(q1Value, y))), g.reduceMean(g.square(g.sub(q2Value, y))));
  const params = [...q1, ...q2];
  const grads = gradients(g, loss, params);
  const updated = adamUpdate(
    g,
    params.map((param, i) => ({ param, grad: grads[i]!, m: moments[i]!.m, v: moments[i]!.v })),
    lrT,
    epsHat,
    c.adam ?? DEFAULT_ADAM,
  );
  const outputs = [g.output(loss, 'loss').name, g.output(g.reduceMean(q1Value), 'q1_mean').name];
  updated.forEach((u, i) => {
    outputs.push(g.output(u.param, `new.${params[i]!.name}`).name);
    outputs.push(g.output(u.m, `new.m.${params[i]!.name}`).name);
    outputs.push(g.output(u.v, `new.v.${params[i]!.name}`).name);
  });
  return { bytes: g.toBytes(), ...described(g), outputs };
}

/**
 * The delayed actor step (§5.2): maximise Q1(s, π(s)) with Adam on the actor, then the soft
 * update θ' ← τ θ + (1 − τ) θ' of the actor and both critics' targets.
 */
export function buildActorUpdate(c: Td3GraphConfig): UpdateGraph {
  const g = new GraphBuilder('td3-actor-update');
  const obs = g.input('obs', ['batch', c.observationSize]);
  const lrT = g.input('lr_t', []);
  const epsHat = g.input('eps_hat', []);
  const actor = inputs(g, 'actor', actorSizes(c));
  const q1 = inputs(g, 'q1', criticSizes(c));
  const q2 = inputs(g, 'q2', criticSizes(c));
  const targets = {
    actor: inputs(g, 'actor_target', actorSizes(c)),
    q1: inputs(g, 'q1_target', criticSizes(c)),
    q2: inputs(g, 'q2_target', criticSizes(c)),
  };
  const moments = actor.map((p) => ({
    m: g.input(`m.${p.name}`, p.shape),
    v: g.input(`v.${p.name}`, p.shape),
  }));
  const action = forward(g, obs, actor, 'tanh');
  const policyQ = forward(g, g.concat([obs, action]), q1, 'none');
  let loss = g.neg(g.reduceMean(policyQ));
  const extraOutputs: [Value, string][] = [];
  if (c.imitation) {
    const term = imitationTerm(g, {
      obs,
      action,
      actionSize: c.actionSize,
      q1,
      qFilter: c.qFilter ?? false,
      policyQ: () => policyQ,
    });
    loss = g.add(loss, term.weighted);
    extraOutputs.push(...term.outputs);
  }
  const grads = gradients(g, loss, actor);
  const updated = adamUpdate(
    g,
    actor.map((param, i) => ({ param, grad: grads[i]!, m: moments[i]!.m, v: moments[i]!.v })),
    lrT,
    epsHat,
    c.adam ?? DEFAULT_ADAM,
  );
  const outputs = [
    g.output(loss, 'actor_loss').name,
    ...extraOutputs.map(([v, name]) => g.output(v, name).name),
  ];
  updated.forEach((u, i) => {
    outputs.push(g.output(u.param, `new.${actor[i]!.name}`).name);
    outputs.push(g.output(u.m, `new.m.${actor[i]!.name}`).name);
    outputs.push(g.output(u.v, `new.v.${actor[i]!.name}`).name);
  });
  const tau = g.scalar(c.tau);
  const keep = g.scalar(1 - c.tau);
  const soft = (online: Value[], target: Value[]) => {
    for (const [i, t] of target.entries()) {
      outputs.push(g.output(g.add(g.mul(tau, online[i]!), g.mul(keep, t)), `new.${t.name}`).name);
    }
  };
  soft(
    updated.map((u) => u.param),
    targets.actor,
  );
  soft(q1, targets.q1);
  soft(q2, targets.q2);
  return { bytes: g.toBytes(), ...described(g), outputs };
}
