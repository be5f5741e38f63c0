import { forward, imitationTerm, networkShapes } from './actor-critic-graphs.js';
import { type AdamConfig, adamUpdate, DEFAULT_ADAM } from './graph/adam.js';

export { networkShapes } from './actor-critic-graphs.js';

import { gradients } from './graph/autodiff.js';
import { type Dim, GraphBuilder, type Value } from './graph/builder.js';
import { type PackedSlot, pack, packedSize, packedSlots, unpack } from './graph/packed.js';

/**
 * TD3's two training steps as ONNX graphs (Fujimoto et al. 2018, "Addressing Function
 * Approximation Error in Actor-Critic Methods", Algorithm 1): the whole update — forward,
 * backward, loss, Adam and, for the actor step, the soft target update — runs inside
 * onnxruntime, and the host only feeds batches and carries the tensors from call to call.
 */
export interface Td3GraphConfig {
  /** Network input size: the (normalised) observation and desired goal, concatenated. */
  observationSize: number;
  actionSize: number;
  /** Hidden layer widths of actor and critics. */
  hidden: readonly number[];
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
  /** Divide the actor's −Q term by the batch's mean |Q| (TD3+BC's normalisation). */
  normalizeQ?: boolean;
  adam?: Omit<AdamConfig, 'learningRate'>;
}

/** A built graph and the names of its inputs and outputs, in feeding order. */
export interface UpdateGraph {
  bytes: Uint8Array;
  inputs: string[];
  /** Shape of each input ('batch' for the batch dimension). */
  inputShapes: Record<string, Dim[]>;
  outputs: string[];
  /**
   * The packed inputs (a network's parameters or Adam moments, e.g. `q1`, `m.q1`) and where each
   * layer sits in them; the output `new.<name>` has the same layout.
   */
  packed: Record<string, PackedSlot[]>;
}

/** Where each layer of a network of these sizes sits in its packed vector (suffixes `.0.weight`…). */
export function networkSlots(sizes: readonly number[]): PackedSlot[] {
  return packedSlots(networkShapes('', sizes));
}

export function actorSizes(c: Td3GraphConfig): number[] {
  return [c.observationSize, ...c.hidden, c.actionSize];
}

export function criticSizes(c: Td3GraphConfig): number[] {
  return [c.observationSize + c.actionSize, ...c.hidden, 1];
}

/** The critics' step: clipped double-Q targets from the target networks, MSE, Adam on both critics. */
export function buildCriticUpdate(c: Td3GraphConfig): UpdateGraph {
  const g = new GraphBuilder('td3-critic-update');
  const batch = batchInputs(g, c);
  const adam = adamInputs(g, '');
  const critics = { q1: networkInput(g, 'q1', criticSizes(c)), q2: networkInput(g, 'q2', criticSizes(c)) };
  const targets = targetInputs(g, c, ['q1', 'q2', 'actor']);
  const critic = criticStep(g, c, batch, critics, targets, adam);
  return finish(g, c, [...critic.outputs, ...adamOutputs(g, critic.updated)]);
}

/**
 * The delayed actor step (§5.2): maximise Q1(s, π(s)) with Adam on the actor, then the soft
 * update θ' ← τ θ + (1 − τ) θ' of the actor and both critics' targets.
 */
export function buildActorUpdate(c: Td3GraphConfig): UpdateGraph {
  const g = new GraphBuilder('td3-actor-update');
  const obs = g.input('obs', ['batch', c.observationSize]);
  const adam = adamInputs(g, '');
  const actor = networkInput(g, 'actor', actorSizes(c));
  const q1 = networkInput(g, 'q1', criticSizes(c));
  const q2 = networkInput(g, 'q2', criticSizes(c));
  const targets = targetInputs(g, c, ['actor', 'q1', 'q2']);
  const step = actorStep(g, c, obs, momentInputs(g, actor), q1.layers, adam);
  const outputs = [...step.outputs, ...adamOutputs(g, [step.updated])];
  outputs.push(...softUpdates(g, c, { actor: step.updated.param, q1: q1.packed, q2: q2.packed }, targets));
  return finish(g, c, outputs);
}

/**
 * Algorithm 1's whole iteration on the updates that move the actor: the critic step, the actor
 * step on the critics it produced, the soft target updates. The same results as
 * {@link buildCriticUpdate} then {@link buildActorUpdate}, in one call instead of two: each call
 * moves every weight through the host (DESIGN.md: ~0.5–0.85 ms). The actor's Adam has its own
 * step scalars, `actor_lr_t` and `actor_eps_hat`.
 */
export function buildCriticActorUpdate(c: Td3GraphConfig): UpdateGraph {
  const g = new GraphBuilder('td3-critic-actor-update');
  const batch = batchInputs(g, c);
  const criticAdam = adamInputs(g, '');
  const actorAdam = adamInputs(g, 'actor_');
  const actor = networkInput(g, 'actor', actorSizes(c));
  const critics = { q1: networkInput(g, 'q1', criticSizes(c)), q2: networkInput(g, 'q2', criticSizes(c)) };
  const targets = targetInputs(g, c, ['q1', 'q2', 'actor']);
  const critic = criticStep(g, c, batch, critics, targets, criticAdam);
  const [newQ1, newQ2] = critic.updated as [Updated, Updated];
  // The actor's gradient stops at the critic it is scored by (and so at the critic step).
  const q1Layers = unpack(g, g.stopGradient(newQ1.param), networkSlots(criticSizes(c)));
  const step = actorStep(g, c, batch.obs, momentInputs(g, actor), q1Layers, actorAdam);
  const outputs = [...critic.outputs, ...step.outputs];
  outputs.push(...adamOutputs(g, critic.updated), ...adamOutputs(g, [step.updated]));
  outputs.push(
    ...softUpdates(g, c, { actor: step.updated.param, q1: newQ1.param, q2: newQ2.param }, targets),
  );
  return finish(g, c, outputs);
}

interface BatchInputs {
  obs: Value;
  action: Value;
  reward: Value;
  notDone: Value;
  nextObs: Value;
  noise: Value;
}

/** A network fed packed: the input, and per-layer views of it [W0, b0, W1, b1, …]. */
interface Network {
  packed: Value;
  layers: Value[];
}

type Networks = Record<'actor' | 'q1' | 'q2', Network>;

/** Adam's per-step scalars from adamStepScalars. */
interface AdamInputs {
  lrT: Value;
  epsHat: Value;
}

/** A network with its packed Adam moments, inputs `m.<name>` and `v.<name>`. */
interface Trainable extends Network {
  m: Value;
  v: Value;
}

/** A packed parameter input after one Adam step: its new value and moments. */
interface Updated {
  input: Value;
  param: Value;
  m: Value;
  v: Value;
}

function batchInputs(g: GraphBuilder, c: Td3GraphConfig): BatchInputs {
  const batch: Dim = 'batch';
  return {
    obs: g.input('obs', [batch, c.observationSize]),
    action: g.input('action', [batch, c.actionSize]),
    reward: g.input('reward', [batch, 1]),
    notDone: g.input('not_done', [batch, 1]),
    nextObs: g.input('next_obs', [batch, c.observationSize]),
    noise: g.input('noise', [batch, c.actionSize]),
  };
}

function adamInputs(g: GraphBuilder, prefix: string): AdamInputs {
  return { lrT: g.input(`${prefix}lr_t`, []), epsHat: g.input(`${prefix}eps_hat`, []) };
}

function networkInput(g: GraphBuilder, name: string, sizes: readonly number[]): Network {
  const slots = networkSlots(sizes);
  const packed = g.input(name, [packedSize(slots)]);
  return { packed, layers: unpack(g, packed, slots) };
}

/** The target networks' inputs, declared in `order`. */
function targetInputs(g: GraphBuilder, c: Td3GraphConfig, order: (keyof Networks)[]): Networks {
  const sizes = { actor: actorSizes(c), q1: criticSizes(c), q2: criticSizes(c) };
  const declared: Partial<Networks> = {};
  for (const net of order) declared[net] = networkInput(g, `${net}_target`, sizes[net]);
  return declared as Networks;
}

function momentInputs(g: GraphBuilder, net: Network): Trainable {
  const { name, shape } = net.packed;
  return { ...net, m: g.input(`m.${name}`, shape), v: g.input(`v.${name}`, shape) };
}

/** One Adam step of each trainable network along its per-layer gradients. */
function adamStep(
  g: GraphBuilder,
  c: Td3GraphConfig,
  trainables: readonly Trainable[],
  loss: Value,
  adam: AdamInputs,
): Updated[] {
  const grads = gradients(
    g,
    loss,
    trainables.flatMap((t) => t.layers),
  );
  let next = 0;
  const slots = trainables.map((t) => {
    const grad = pack(g, grads.slice(next, next + t.layers.length));
    next += t.layers.length;
    return { param: t.packed, grad, m: t.m, v: t.v };
  });
  const updated = adamUpdate(g, slots, adam.lrT, adam.epsHat, c.adam ?? DEFAULT_ADAM);
  return updated.map((u, i) => ({ input: trainables[i]!.packed, ...u }));
}

/** Outputs `new.<name>`, `new.m.<name>`, `new.v.<name>` for each updated network. */
function adamOutputs(g: GraphBuilder, updated: readonly Updated[]): string[] {
  return updated.flatMap((u) => [
    g.output(u.param, `new.${u.input.name}`).name,
    g.output(u.m, `new.m.${u.input.name}`).name,
    g.output(u.v, `new.v.${u.input.name}`).name,
  ]);
}

function criticStep(
  g: GraphBuilder,
  c: Td3GraphConfig,
  batch: BatchInputs,
  critics: Omit<Networks, 'actor'>,
  targets: Networks,
  adam: AdamInputs,
): { outputs: string[]; updated: Updated[] } {
  const { obs, action, reward, notDone, nextObs, noise } = batch;
  const trainables = [momentInputs(g, critics.q1), momentInputs(g, critics.q2)];
  // Target policy smoothing (§5.3): a' = clip(π'(s') + clip(ε, −c, c), −1, 1).
  const nextAction = g.clip(
    g.add(
      forward(g, nextObs, targets.actor.layers, 'tanh'),
      g.clip(noise, -c.targetNoiseClip, c.targetNoiseClip),
    ),
    -1,
    1,
  );
  const nextInput = g.concat([nextObs, nextAction]);
  // Clipped double Q-learning (§4.2): y = r + γ (1 − done) min(Q1', Q2').
  const targetQ = g.min(
    forward(g, nextInput, targets.q1.layers, 'none'),
    forward(g, nextInput, targets.q2.layers, 'none'),
  );
  const y = g.add(reward, g.mul(g.scalar(c.gamma), g.mul(notDone, targetQ)));
  const input = g.concat([obs, action]);
  const q1Value = forward(g, input, critics.q1.layers, 'none');
  const q2Value = forward(g, input, critics.q2.layers, 'none');
  const loss = g.add(g.reduceMean(g.square(g.sub(q1Value, y))), g.reduceMean(g.square(g.sub(q2Value, y))));
  return {
    outputs: [g.output(loss, 'loss').name, g.output(g.reduceMean(q1Value), 'q1_mean').name],
    updated: adamStep(g, c, trainables, loss, adam),
  };
}

/** −mean Q1(s, π(s)), plus RLingua's imitation term when configured; Adam on the actor. */
function actorStep(
  g: GraphBuilder,
  c: Td3GraphConfig,
  obs: Value,
  actor: Trainable,
  q1: readonly Value[],
  adam: AdamInputs,
): { outputs: string[]; updated: Updated } {
  const action = forward(g, obs, actor.layers, 'tanh');
  const policyQ = forward(g, g.concat([obs, action]), q1, 'none');
  let loss = g.neg(g.reduceMean(policyQ));
  if (c.normalizeQ) {
    // TD3+BC (Fujimoto & Gu 2021, §4): divide the Q term by the batch's mean |Q| (no gradient
    // through it), so its scale does not depend on the reward scale or the horizon and an
    // imitation weight means the same early (|Q| small) and late.
    const scale = g.stopGradient(g.add(g.reduceMean(g.op('Abs', [policyQ], policyQ.shape)), g.scalar(1e-6)));
    loss = g.div(loss, scale);
  }
  const extraOutputs: [Value, string][] = [];
  if (c.imitation) {
    const term = imitationTerm(g, {
      obs,
      action,
      actionSize: c.actionSize,
      q1,
      qFilter: c.qFilter === true,
      policyQ: () => policyQ,
    });
    loss = g.add(loss, term.weighted);
    extraOutputs.push(...term.outputs);
  }
  const [updated] = adamStep(g, c, [actor], loss, adam) as [Updated];
  const outputs = [
    g.output(loss, 'actor_loss').name,
    ...extraOutputs.map(([v, name]) => g.output(v, name).name),
  ];
  return { outputs, updated };
}

/** θ' ← τ θ + (1 − τ) θ' for each packed target network, output as `new.<target name>`. */
function softUpdates(
  g: GraphBuilder,
  c: Td3GraphConfig,
  online: Record<keyof Networks, Value>,
  targets: Networks,
): string[] {
  const tau = g.scalar(c.tau);
  const keep = g.scalar(1 - c.tau);
  return (['actor', 'q1', 'q2'] as const).map((net) => {
    const t = targets[net].packed;
    return g.output(g.add(g.mul(tau, online[net]), g.mul(keep, t)), `new.${t.name}`).name;
  });
}

/**
 * Serialises the graph with one more output, `new_sum`: the sum of every `new.*` value. It is
 * finite whenever they all are (a NaN or ±∞ anywhere makes it NaN or ±∞), so the host checks
 * one number instead of scanning ~0.5M floats in JavaScript (~0.8 ms an update); only when it
 * is not finite does the host look for the culprit (the sum itself may overflow).
 */
function finish(g: GraphBuilder, c: Td3GraphConfig, outputs: string[]): UpdateGraph {
  const sums = g.graphOutputs
    .filter((v) => v.name.startsWith('new.'))
    .map((v) =>
      g.reduceSum(
        v,
        v.shape.map((_, i) => i),
      ),
    );
  outputs.push(g.output(g.op('Sum', sums, []), 'new_sum').name);
  const packed: Record<string, PackedSlot[]> = {};
  for (const { name } of g.graphInputs) {
    const network = name.replace(/^[mv]\./, '').replace(/_target$/, '');
    if (network === 'actor') packed[name] = networkSlots(actorSizes(c));
    else if (network === 'q1' || network === 'q2') packed[name] = networkSlots(criticSizes(c));
  }
  return {
    bytes: g.toBytes(),
    inputs: g.graphInputs.map((v) => v.name),
    inputShapes: Object.fromEntries(g.graphInputs.map((v) => [v.name, [...v.shape]])),
    outputs,
    packed,
  };
}
