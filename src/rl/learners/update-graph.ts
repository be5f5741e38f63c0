import { type AdamConfig, adamUpdate, DEFAULT_ADAM } from '../graph/adam.js';
import { gradients } from '../graph/autodiff.js';
import { type Dim, GraphBuilder, type Value } from '../graph/builder.js';
import type { OutputActivation } from '../graph/mlp.js';
import { type PackedSlot, pack, packedSize, packedSlots, unpack } from '../graph/packed.js';

/**
 * The wiring every learner's update graph shares, below its losses: parameters fed packed (one
 * vector per network, graph/packed.ts), their per-layer views, Adam, soft target updates and the
 * finiteness sum the host checks. A learner's file states its losses and the order of its steps
 * with these; the whole update then runs inside onnxruntime and the host only feeds batches and
 * carries the `new.*` outputs to the next call's inputs.
 */

/** A built graph and the names of its inputs and outputs. */
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

/** Where each layer of an MLP of these sizes sits in its packed vector (suffixes `.0.weight`…). */
export function networkSlots(sizes: readonly number[]): PackedSlot[] {
  return packedSlots(networkShapes('', sizes));
}

/** Q(s, a): [observation, action] → hidden → 1. */
export function criticSizes(c: NetworkSizes): number[] {
  return [c.observationSize + c.actionSize, ...c.hidden, 1];
}

/** A network's layer values [W0, b0, W1, b1, …], as losses read them. */
export type Layers = readonly Value[];

/**
 * An MLP over parameter values [W0, b0, W1, b1, …], ReLU between layers; with `layerNorm`, each
 * hidden layer is normalised before its ReLU (RLPD's critic, see {@link layerNorm}).
 */
export function forward(
  g: GraphBuilder,
  x: Value,
  params: Layers,
  output: OutputActivation,
  options: { layerNorm?: boolean | undefined } = {},
): Value {
  let h = x;
  const layers = params.length / 2;
  for (let i = 0; i < layers; i++) {
    h = g.linear(h, params[2 * i]!, params[2 * i + 1]!);
    if (i + 1 < layers) h = g.relu(options.layerNorm ? layerNorm(g, h) : h);
    else if (output === 'tanh') h = g.tanh(h);
  }
  return h;
}

/** LayerNorm's variance floor (PyTorch's and Flax's default). */
const LAYER_NORM_EPSILON = 1e-5;

/**
 * Each row scaled to mean 0 and variance 1 over its features, no learned scale or shift (Ba et
 * al. 2016). Why in a critic: RLPD (Ball et al. 2023) found it bounds how far Q extrapolates on
 * actions the data never shows, the overestimation that learning online from prior data suffers.
 * Built from primitive ops so the graph's reverse mode differentiates it like the rest.
 */
export function layerNorm(g: GraphBuilder, h: Value): Value {
  const centred = g.sub(h, g.reduceMean(h, [1], true));
  const variance = g.reduceMean(g.square(centred), [1], true);
  return g.div(centred, g.sqrt(g.add(variance, g.scalar(LAYER_NORM_EPSILON))));
}

/** The rows of a batch every actor-critic update reads: (s, a, r, not done, s'). */
export interface BatchInputs {
  obs: Value;
  action: Value;
  reward: Value;
  notDone: Value;
  nextObs: Value;
}

/** A network fed packed: the input, and per-layer views of it [W0, b0, W1, b1, …]. */
export interface Network {
  packed: Value;
  layers: Layers;
  slots: readonly PackedSlot[];
}

/** A network with its packed Adam moments, inputs `m.<name>` and `v.<name>`. */
export interface Trainable extends Network {
  m: Value;
  v: Value;
}

/** Adam's per-step scalars (adamStepScalars), inputs `<prefix>lr_t` and `<prefix>eps_hat`. */
export interface AdamInputs {
  lrT: Value;
  epsHat: Value;
}

/**
 * A graph builder for one learner update: records the packed layout of every network it declares
 * and names the outputs the host carries (`new.<input>`).
 */
export class UpdateGraphBuilder {
  readonly g: GraphBuilder;
  private readonly packed: Record<string, PackedSlot[]> = {};

  constructor(
    name: string,
    private readonly adam: Omit<AdamConfig, 'learningRate'> = DEFAULT_ADAM,
  ) {
    this.g = new GraphBuilder(name);
  }

  /** The batch inputs `obs`, `action`, `reward`, `not_done`, `next_obs`. */
  batch(c: NetworkSizes): BatchInputs {
    const { g } = this;
    return {
      obs: g.input('obs', ['batch', c.observationSize]),
      action: g.input('action', ['batch', c.actionSize]),
      reward: g.input('reward', ['batch', 1]),
      notDone: g.input('not_done', ['batch', 1]),
      nextObs: g.input('next_obs', ['batch', c.observationSize]),
    };
  }

  /** A packed input `name` laid out as `slots`, with its per-layer views. */
  network(name: string, slots: readonly PackedSlot[]): Network {
    const packed = this.g.input(name, [packedSize(slots)]);
    this.packed[name] = [...slots];
    return { packed, layers: unpack(this.g, packed, slots), slots };
  }

  /** A network Adam trains: its packed input and the moments `m.<name>`, `v.<name>`. */
  trainable(name: string, slots: readonly PackedSlot[]): Trainable {
    const net = this.network(name, slots);
    const moment = (prefix: string) => {
      this.packed[`${prefix}${name}`] = [...slots];
      return this.g.input(`${prefix}${name}`, net.packed.shape);
    };
    return { ...net, m: moment('m.'), v: moment('v.') };
  }

  /** Per-layer views of a packed value laid out as `like` (a network after its Adam step). */
  layersOf(packed: Value, like: Network): Value[] {
    return unpack(this.g, packed, like.slots);
  }

  adamInputs(prefix = ''): AdamInputs {
    return { lrT: this.g.input(`${prefix}lr_t`, []), epsHat: this.g.input(`${prefix}eps_hat`, []) };
  }

  /**
   * One Adam step of each trainable network along the gradient of `loss` with respect to its
   * layers; outputs `new.<name>`, `new.m.<name>`, `new.v.<name>` and returns the new packed
   * parameters, in `trainables` order.
   */
  adamStep(trainables: readonly Trainable[], loss: Value, step: AdamInputs): Value[] {
    const { g } = this;
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
    const updated = adamUpdate(g, slots, step.lrT, step.epsHat, this.adam);
    return updated.map((u, i) => {
      const name = trainables[i]!.packed.name;
      g.output(u.param, `new.${name}`);
      g.output(u.m, `new.m.${name}`);
      g.output(u.v, `new.v.${name}`);
      return u.param;
    });
  }

  /** θ' ← τ θ + (1 − τ) θ' for a packed target network, output as `new.<target name>`; `keep` is 1 − τ. */
  softUpdate(tau: Value, keep: Value, online: Value, target: Network): void {
    const { g } = this;
    g.output(g.add(g.mul(tau, online), g.mul(keep, target.packed)), `new.${target.packed.name}`);
  }

  /**
   * Serialises the graph with one more output, `new_sum`: the sum of every `new.*` value. It is
   * finite whenever they all are (a NaN or ±∞ anywhere makes it NaN or ±∞), so the host checks
   * one number instead of scanning ~0.5M floats in JavaScript (~0.8 ms an update); only when it
   * is not finite does the host look for the culprit (the sum itself may overflow).
   */
  finish(): UpdateGraph {
    const { g } = this;
    const sums = g.graphOutputs
      .filter((v) => v.name.startsWith('new.'))
      .map((v) =>
        g.reduceSum(
          v,
          v.shape.map((_, i) => i),
        ),
      );
    g.output(g.op('Sum', sums, []), 'new_sum');
    return {
      bytes: g.toBytes(),
      inputs: g.graphInputs.map((v) => v.name),
      inputShapes: Object.fromEntries(g.graphInputs.map((v) => [v.name, [...v.shape]])),
      outputs: g.graphOutputs.map((v) => v.name),
      packed: { ...this.packed },
    };
  }
}
