import type { GraphBuilder, Value } from './builder.js';

/**
 * Where one layer's tensor sits in its network's packed vector: `<packed name><suffix>` (e.g.
 * `q1` + `.0.weight`) is its name in checkpoints.
 */
export interface PackedSlot {
  suffix: string;
  shape: number[];
  offset: number;
  length: number;
}

/**
 * The layout of layers packed one after another in one vector (for an MLP [W0, b0, W1, b1, …],
 * W row-major [out, in]), each layer named by its suffix (`.0.weight`). A TD3 network's
 * parameters and each of its Adam moments are packed so that Adam and the soft target update
 * are a dozen ops on one tensor rather than a dozen per layer (DESIGN.md: Adam's elementwise ops
 * cost as much as the matmuls): measured ~5% faster per update call at 2×256.
 */
export function packedSlots(layers: readonly { name: string; shape: number[] }[]): PackedSlot[] {
  let offset = 0;
  return layers.map(({ name, shape }) => {
    const length = shape.reduce((a, b) => a * b, 1);
    const slot = { suffix: name, shape, offset, length };
    offset += length;
    return slot;
  });
}

/** Length of a packed network. */
export function packedSize(slots: readonly PackedSlot[]): number {
  const last = slots.at(-1);
  return last ? last.offset + last.length : 0;
}

/** Per-layer views of a packed vector (Slice, then Reshape for the weights). */
export function unpack(g: GraphBuilder, packed: Value, slots: readonly PackedSlot[]): Value[] {
  return slots.map(({ shape, offset, length }) => {
    const flat = g.op(
      'Slice',
      [packed, g.int64([offset]), g.int64([offset + length]), g.int64([0])],
      [length],
    );
    return shape.length === 1 ? flat : g.op('Reshape', [flat, g.int64(shape)], shape);
  });
}

/** Per-layer tensors (e.g. gradients) flattened and joined in packed order. */
export function pack(g: GraphBuilder, layers: readonly Value[]): Value {
  let size = 0;
  const flat = layers.map((v) => {
    const length = v.shape.reduce<number>((n, d) => n * (d as number), 1);
    size += length;
    return v.shape.length === 1 ? v : g.op('Reshape', [v, g.int64([length])], [length]);
  });
  return g.op('Concat', flat, [size], [{ name: 'axis', int: 0 }]);
}
