import type { Dim, GraphBuilder, Value } from './graph/builder.js';
import type { OutputActivation } from './graph/mlp.js';

/**
 * Pieces shared by the TD3 and SAC update graphs (td3-graphs.ts, sac-graphs.ts): parameter
 * naming, the MLP forward pass over parameter inputs, the critics' shape and RLingua's
 * imitation term. The algorithms share these, not a base class (DESIGN.md, Contracts).
 */

/** A built graph and the names of its inputs and outputs, in feeding order. */
export interface UpdateGraph {
  bytes: Uint8Array;
  inputs: string[];
  /** Shape of each input ('batch' for the batch dimension). */
  inputShapes: Record<string, Dim[]>;
  outputs: string[];
}

/** The sizes that fix the networks' shapes. */
export interface NetworkSizes {
  /** Network input size: the (normalised) observation and desired goal, concatenated. */
  observationSize: number;
  actionSize: number;
  /** Hidden layer widths of actor and critics. */
  hidden: readonly number[];
}

/** Parameter names and shapes of a network: `<prefix>.<layer>.weight` [out, in] and `.bias` [out]. */
export function networkShapes(prefix: string, sizes: readonly number[]): { name: string; shape: number[] }[] {
  const shapes: { name: string; shape: number[] }[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    shapes.push({ name: `${prefix}.${i}.weight`, shape: [sizes[i + 1]!, sizes[i]!] });
    shapes.push({ name: `${prefix}.${i}.bias`, shape: [sizes[i + 1]!] });
  }
  return shapes;
}

/** Q(s, a): [observation, action] → hidden → 1. */
export function criticSizes(c: NetworkSizes): number[] {
  return [c.observationSize + c.actionSize, ...c.hidden, 1];
}

/** One graph input per parameter of a network, in {@link networkShapes} order. */
export function networkInputs(g: GraphBuilder, prefix: string, sizes: readonly number[]): Value[] {
  return networkShapes(prefix, sizes).map(({ name, shape }) => g.input(name, shape));
}

/** An MLP over parameter values [W0, b0, W1, b1, …], ReLU between layers. */
export function forward(
  g: GraphBuilder,
  x: Value,
  params: readonly Value[],
  output: OutputActivation,
): Value {
  let h = x;
  const layers = params.length / 2;
  for (let i = 0; i < layers; i++) {
    h = g.linear(h, params[2 * i]!, params[2 * i + 1]!);
    if (i + 1 < layers) h = g.relu(h);
    else if (output === 'tanh') h = g.tanh(h);
  }
  return h;
}

/** The graph's input names and shapes, for {@link UpdateGraph}. */
export function describedInputs(g: GraphBuilder): { inputs: string[]; inputShapes: Record<string, Dim[]> } {
  return {
    inputs: g.graphInputs.map((v) => v.name),
    inputShapes: Object.fromEntries(g.graphInputs.map((v) => [v.name, [...v.shape]])),
  };
}

/**
 * RLingua's imitation term (arXiv 2403.06420, §III-C): w · mean over prior-labelled rows of
 * ‖action − a_prior‖², declaring the inputs `prior_action` [batch, action], `has_prior`
 * [batch, 1] and `imitation_weight` [] (its schedule decays on the host). With `qFilter`
 * (Nair et al. 2018), a row imitates only where Q1(s, a_prior) > Q1(s, π(s)), while the input
 * `q_filter_on` [] is 1; at 0 every labelled row imitates (the host switches the filter on once
 * the critic can judge the prior). `policyQ` gives Q1(s, π(s)) and is called only with
 * `qFilter`. The mask carries no gradient. Returns the weighted term to add to the actor loss,
 * and the diagnostics to output.
 */
export function imitationTerm(
  g: GraphBuilder,
  o: {
    obs: Value;
    action: Value;
    actionSize: number;
    q1: readonly Value[];
    qFilter: boolean;
    policyQ: () => Value;
  },
): { weighted: Value; outputs: [Value, string][] } {
  const priorAction = g.input('prior_action', ['batch', o.actionSize]);
  const hasPrior = g.input('has_prior', ['batch', 1]);
  const weight = g.input('imitation_weight', []);
  let mask = hasPrior;
  if (o.qFilter) {
    const filterOn = g.input('q_filter_on', []);
    const priorQ = forward(g, g.concat([o.obs, priorAction]), o.q1, 'none');
    const better = g.op(
      'Cast',
      [g.op('Greater', [priorQ, o.policyQ()], ['batch', 1])],
      ['batch', 1],
      [{ name: 'to', int: 1 }],
    );
    // on · better + (1 − on): exactly `better` when on, exactly 1 when off.
    const passes = g.add(g.mul(filterOn, better), g.sub(g.scalar(1), filterOn));
    mask = g.mul(mask, g.stopGradient(passes));
  }
  mask = g.stopGradient(mask);
  const squaredError = g.reduceSum(g.square(g.sub(o.action, priorAction)), [1], true);
  // Mean over the rows that imitate (the share of prior-labelled rows changes during training).
  const count = g.add(g.reduceSum(mask, [0, 1]), g.scalar(1e-6));
  const imitation = g.div(g.reduceSum(g.mul(mask, squaredError), [0, 1]), count);
  return {
    weighted: g.mul(weight, imitation),
    outputs: [
      [imitation, 'imitation_loss'],
      [g.reduceMean(mask), 'imitation_fraction'],
    ],
  };
}
