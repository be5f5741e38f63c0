import { type Dim, GraphBuildError, type GraphBuilder, type TapeEntry, type Value } from './builder.js';

/** ONNX's Cast target for float32. */
const FLOAT = 1;

/**
 * Reverse-mode differentiation over the nodes recorded by a {@link GraphBuilder}: appends to the
 * graph the nodes that compute d`loss`/d`wrt[i]` for a scalar `loss`, and returns them. Each op
 * has a rule below; the standard ONNX build has no ReluGrad, so ReLU's backward is dY × [Y > 0],
 * tanh's is dY × (1 − Y²), and broadcasting in Add/Sub/Mul/Div is undone by summing over the
 * broadcast axes. An input nothing depends on gets a zero gradient of its shape.
 */
export function gradients(g: GraphBuilder, loss: Value, wrt: readonly Value[]): Value[] {
  if (loss.shape.length !== 0)
    throw new GraphBuildError(`gradients: the loss must be a scalar, ${loss.name} has shape [${loss.shape}]`);
  const grads = new Map<string, Value>();
  const accumulate = (target: Value, grad: Value) => {
    const previous = grads.get(target.name);
    grads.set(target.name, previous ? g.add(previous, grad) : grad);
  };
  grads.set(loss.name, g.scalar(1));
  const tape = [...g.tape];
  // Only nodes between `wrt` and the loss are differentiated: not what produced `wrt` (slices of
  // a packed vector) nor what does not depend on it (the target networks, the batch).
  // onnxruntime does not remove nodes whose outputs nothing uses (measured: 20 unused 256×256
  // MatMuls cost 12 ms a run), so unneeded gradients must not be built at all.
  const wrtNames = new Set(wrt.map((w) => w.name));
  const needed = new Set(wrtNames);
  for (const entry of tape) {
    if (!g.isStopped(entry.output.name) && entry.inputs.some((v) => needed.has(v.name)))
      needed.add(entry.output.name);
  }
  for (let i = tape.length - 1; i >= 0; i--) {
    const entry = tape[i]!;
    const y = entry.output.name;
    const dY = grads.get(y);
    if (!dY || g.isStopped(y) || !needed.has(y) || wrtNames.has(y)) continue;
    for (const [input, grad] of backward(g, entry, dY)) if (needed.has(input.name)) accumulate(input, grad());
  }
  return wrt.map((w) => grads.get(w.name) ?? zerosLike(g, w));
}

/**
 * The gradient contributions of one node's inputs, given the gradient of its output; each is
 * built only when asked for, so inputs that need no gradient add no nodes.
 */
function backward(g: GraphBuilder, entry: TapeEntry, dY: Value): [Value, () => Value][] {
  const [a, b] = entry.inputs as [Value, Value | undefined];
  const y = entry.output;
  switch (entry.opType) {
    case 'Identity':
      return [[a, () => dY]];
    case 'Gemm': {
      // y = x Wᵀ + b with W [out, in] (transB = 1).
      const [w, bias] = [entry.inputs[1]!, entry.inputs[2]!];
      return [
        [a, () => g.matMul(dY, w)],
        [w, () => g.op('Gemm', [dY, a], w.shape, [{ name: 'transA', int: 1 }])],
        [bias, () => sumRows(g, dY)],
      ];
    }
    case 'MatMul':
      return [
        [a, () => g.matMul(dY, g.transpose(b!))],
        [b!, () => g.matMul(g.transpose(a), dY)],
      ];
    case 'Add':
      return [
        [a, () => unbroadcast(g, dY, a.shape)],
        [b!, () => unbroadcast(g, dY, b!.shape)],
      ];
    case 'Sub':
      return [
        [a, () => unbroadcast(g, dY, a.shape)],
        [b!, () => unbroadcast(g, g.neg(dY), b!.shape)],
      ];
    case 'Mul':
      return [
        [a, () => unbroadcast(g, g.mul(dY, b!), a.shape)],
        [b!, () => unbroadcast(g, g.mul(dY, a), b!.shape)],
      ];
    case 'Div':
      return [
        [a, () => unbroadcast(g, g.div(dY, b!), a.shape)],
        [b!, () => unbroadcast(g, g.neg(g.div(g.mul(dY, y), b!)), b!.shape)],
      ];
    case 'Neg':
      return [[a, () => g.neg(dY)]];
    case 'Relu':
      // dY × [Y > 0]; onnxruntime's Sign kernel made this ~8% slower in a TD3 update (measured).
      return [
        [
          a,
          () =>
            g.mul(
              dY,
              g.op('Cast', [g.op('Greater', [y, g.scalar(0)], y.shape)], y.shape, [
                { name: 'to', int: FLOAT },
              ]),
            ),
        ],
      ];
    case 'Tanh':
      return [[a, () => g.mul(dY, g.sub(g.scalar(1), g.square(y)))]];
    case 'Exp':
      return [[a, () => g.mul(dY, y)]];
    case 'Log':
      return [[a, () => g.div(dY, a)]];
    case 'Sqrt':
      return [[a, () => g.div(g.mul(dY, g.scalar(0.5)), y)]];
    case 'Min': {
      // The gradient flows to the smaller input (to b on ties).
      const aSmaller = () =>
        g.op('Cast', [g.op('Less', [a, b!], y.shape)], y.shape, [{ name: 'to', int: FLOAT }]);
      return [
        [a, () => unbroadcast(g, g.mul(dY, aSmaller()), a.shape)],
        [b!, () => unbroadcast(g, g.mul(dY, g.sub(g.scalar(1), aSmaller())), b!.shape)],
      ];
    }
    case 'Clip': {
      const [, low, high] = entry.inputs as [Value, Value, Value];
      const inside = () =>
        g.op(
          'Cast',
          [g.op('And', [g.op('Greater', [a, low], a.shape), g.op('Less', [a, high], a.shape)], a.shape)],
          a.shape,
          [{ name: 'to', int: FLOAT }],
        );
      return [[a, () => g.mul(dY, inside())]];
    }
    case 'ReduceMean': {
      const axes = entry.attributes.find((x) => x.name === 'axes')?.ints ?? a.shape.map((_, i) => i);
      const keep = (entry.attributes.find((x) => x.name === 'keepdims')?.int ?? 1) === 1;
      // dX = dY / count, spread back over the reduced axes (the batch size is known only at run time).
      const grad = () => {
        const count = g.op(
          'Cast',
          [g.op('Div', [g.op('Size', [a], []), g.op('Size', [y], [])], [])],
          [],
          [{ name: 'to', int: FLOAT }],
        );
        const spread = keep ? dY : g.op('Unsqueeze', [dY, g.int64(axes)], keptShape(a.shape, axes));
        return g.op('Expand', [g.div(spread, count), g.op('Shape', [a], [a.shape.length])], a.shape);
      };
      return [[a, grad]];
    }
    case 'ReduceSum': {
      const axesValue = entry.inputs[1]!;
      const keep = (entry.attributes.find((x) => x.name === 'keepdims')?.int ?? 1) === 1;
      const axes = axesOf(g, axesValue);
      const grad = () => {
        const spread = keep ? dY : g.op('Unsqueeze', [dY, g.int64(axes)], keptShape(a.shape, axes));
        return g.op('Expand', [spread, g.op('Shape', [a], [a.shape.length])], a.shape);
      };
      return [[a, grad]];
    }
    case 'Transpose':
      return [[a, () => g.transpose(dY)]];
    case 'Concat': {
      let offset = 0;
      return entry.inputs.map((part) => {
        const width = part.shape[1] as number;
        const start = offset;
        offset += width;
        return [part, () => g.columns(dY, start, start + width)] as [Value, () => Value];
      });
    }
    case 'Slice': {
      // Columns [start, end) of a 2-D value: the gradient is zero outside them.
      const start = g.int64Values(entry.inputs[1]!.name)?.[0];
      const end = g.int64Values(entry.inputs[2]!.name)?.[0];
      const width = a.shape[1];
      if (start === undefined || end === undefined || typeof width !== 'number') {
        throw new GraphBuildError(`gradients: Slice ${y.name} needs constant bounds and a fixed width`);
      }
      return [[a, () => g.op('Pad', [dY, g.int64([0, start, 0, width - end])], a.shape)]];
    }
    default:
      throw new GraphBuildError(`gradients: no rule for ${entry.opType} (node producing ${y.name})`);
  }
}

/**
 * The column sums of a 2-D value, as ones[1, N] · x: onnxruntime's ReduceSum over the leading
 * axis ran ~3× slower than this product on [256, 256] (a bias gradient).
 */
function sumRows(g: GraphBuilder, x: Value): Value {
  const [rows, columns] = x.shape as [Dim, Dim];
  const n = g.op('Slice', [g.op('Shape', [x], [2]), g.int64([0]), g.int64([1])], [1]);
  const shape = g.op('Concat', [g.int64([1]), n], [2], [{ name: 'axis', int: 0 }]);
  const ones = g.op('Expand', [g.scalar(1), shape], [1, rows]);
  return g.op('Reshape', [g.matMul(ones, x), g.int64([columns as number])], [columns]);
}

/** Sums a gradient over the axes that broadcasting added or stretched, back to `shape`. */
function unbroadcast(g: GraphBuilder, grad: Value, shape: readonly Dim[]): Value {
  if (sameShape(grad.shape, shape)) return grad;
  const lead = grad.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.shape.length; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && grad.shape[i] !== 1) axes.push(i);
  }
  const summed = g.reduceSum(grad, axes, true);
  return g.op('Reshape', [summed, g.int64(shape.map((d) => (typeof d === 'number' ? d : 0)))], shape);
}

function sameShape(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The shape with the reduced axes kept as 1. */
function keptShape(shape: readonly Dim[], axes: readonly number[]): Dim[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** The axes of a ReduceSum node: the int64 constant the builder made for it. */
function axesOf(g: GraphBuilder, axesValue: Value): number[] {
  const axes = g.int64Values(axesValue.name);
  if (!axes) throw new GraphBuildError(`gradients: ReduceSum axes ${axesValue.name} must be a constant`);
  return axes;
}

/** Zeros of `value`'s shape (0 × value keeps the shape, the batch dimension included). */
function zerosLike(g: GraphBuilder, value: Value): Value {
  return g.mul(value, g.scalar(0));
}
