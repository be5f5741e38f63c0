import type ort from 'onnxruntime-node';
import type { MlpParameters } from '../graph/mlp.js';
import { type PackedSlot, packedSize } from '../graph/packed.js';
import { checkStateFits, type LearnerState } from '../learner.js';
import { type Outputs, tensor } from './feeds.js';

/** One layer tensor of the packed state, named as in checkpoints, viewed in its packed vector. */
export interface LayerView {
  name: string;
  shape: number[];
  view: Float32Array;
}

/**
 * A learner's tensors between update calls, held packed as the graphs take them (one vector per
 * network's parameters, per target and per Adam moment: `actor`, `q1_target`, `m.q2`…) and
 * carried from one call's `new.*` outputs to the next call's inputs. Checkpoints and
 * `parameter()` see the per-layer tensors (`<packed name><suffix>`, e.g. `m.q1.0.weight`), so
 * the saved state does not depend on how the graphs pack it.
 */
export class PackedState {
  private readonly tensors = new Map<string, ort.Tensor>();

  /** `layout`: every packed tensor of the graphs and where each layer sits in it. */
  constructor(private readonly layout: ReadonlyMap<string, readonly PackedSlot[]>) {}

  /** The packed tensor `name`, as fed to a graph input of that name. */
  get(name: string): ort.Tensor | undefined {
    return this.tensors.get(name);
  }

  /**
   * Sets the parameters `name` to `values` and, where the graphs have them, its target network
   * (`<name>_target`, a copy) and its Adam moments (`m.<name>`, `v.<name>`, zeros).
   */
  initialize(name: string, values: Float32Array): void {
    const dims = [values.length];
    this.tensors.set(name, tensor(values, dims));
    if (this.layout.has(`${name}_target`)) this.tensors.set(`${name}_target`, tensor(values.slice(), dims));
    for (const moment of [`m.${name}`, `v.${name}`])
      if (this.layout.has(moment)) this.tensors.set(moment, tensor(new Float32Array(values.length), dims));
  }

  /** Throws when a tensor the graphs take was never initialised (a bug of the learner). */
  checkComplete(): void {
    const missing = [...this.layout.keys()].filter((name) => !this.tensors.has(name));
    if (missing.length > 0) throw new Error(`learner state lacks ${missing.join(', ')}`);
  }

  /** Every layer tensor (or those of one packed tensor), with a view into its packed vector. */
  *layers(only?: string): Generator<LayerView> {
    for (const [name, slots] of this.layout) {
      if (only !== undefined && name !== only) continue;
      const packed = this.tensors.get(name)!.data as Float32Array;
      for (const { suffix, shape, offset, length } of slots) {
        yield { name: name + suffix, shape, view: packed.subarray(offset, offset + length) };
      }
    }
  }

  /** A copy of the layer tensor `name` (e.g. `actor.0.weight`, `log_alpha`). */
  parameter(name: string): Float32Array {
    for (const layer of this.layers()) if (layer.name === name) return layer.view.slice();
    throw new Error(`no parameter named ${name}`);
  }

  /** The packed MLP `name` of these sizes as per-layer views (valid until the next update). */
  mlp(name: string, sizes: readonly number[]): MlpParameters {
    const weights: Float32Array[] = [];
    const biases: Float32Array[] = [];
    for (const { name: layer, view } of this.layers(name))
      (layer.endsWith('.weight') ? weights : biases).push(view);
    return { sizes: [...sizes], weights, biases };
  }

  /** Every layer tensor, copied, as {@link LearnerState} holds them. */
  save(): LearnerState['tensors'] {
    const tensors: LearnerState['tensors'] = {};
    for (const { name, shape, view } of this.layers()) tensors[name] = { shape, data: view.slice() };
    return tensors;
  }

  /** Restores {@link save}'s tensors; refuses (changing nothing) a state of another algorithm or size. */
  load(algorithm: string, saved: LearnerState): void {
    checkStateFits(algorithm, saved, new Map([...this.layers()].map((l) => [l.name, l.shape])));
    for (const [name, slots] of this.layout) {
      const packed = new Float32Array(packedSize(slots));
      for (const { suffix, offset } of slots) packed.set(saved.tensors[name + suffix]!.data, offset);
      this.tensors.set(name, tensor(packed, [packed.length]));
    }
  }

  /** Takes an update's `new.<name>` outputs as the tensors `<name>`. */
  carry(out: Outputs): void {
    for (const [name, value] of Object.entries(out))
      if (name.startsWith('new.')) this.tensors.set(name.slice(4), value as ort.Tensor);
  }

  /** The first non-finite value among an update's `new.*` outputs, named by layer; none: undefined. */
  firstNonFinite(out: Outputs): { name: string; value: number } | undefined {
    for (const [name, output] of Object.entries(out)) {
      if (!name.startsWith('new.')) continue;
      const values = (output as ort.Tensor).data as Float32Array;
      for (const { suffix, offset, length } of this.layout.get(name.slice(4)) ?? []) {
        for (let i = offset; i < offset + length; i++) {
          if (!Number.isFinite(values[i]!)) return { name: name.slice(4) + suffix, value: values[i]! };
        }
      }
    }
    return undefined;
  }
}

/** An MLP's parameters packed in layer order, W0, b0, W1, b1, … (update-graph.ts, networkSlots). */
export function packMlp(params: MlpParameters): Float32Array {
  const parts = params.weights.flatMap((w, i) => [w, params.biases[i]!]);
  const packed = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    packed.set(part, offset);
    offset += part.length;
  }
  return packed;
}
