import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** A dimension: a size, or a name for one known only at run time (the batch). */
export type Dim = number | string;

/** A value in the graph: its name and its (static where known) shape. */
export interface Value {
  readonly name: string;
  readonly shape: readonly Dim[];
}

/** A graph that cannot be built as asked (wrong shapes, reused names). */
export class GraphBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphBuildError';
  }
}

/** An attribute of a node (ints, an int or a float). */
export type Attribute = { name: string; int?: number; ints?: number[]; float?: number };

/** One recorded node, for reverse-mode differentiation (autodiff.ts). */
export interface TapeEntry {
  readonly opType: string;
  readonly inputs: readonly Value[];
  readonly output: Value;
  readonly attributes: readonly Attribute[];
}

/**
 * A small builder of ONNX graphs (float32): the ops an MLP actor-critic needs, each checking and
 * propagating shapes so a mistake is reported where it is made, not by onnxruntime at session
 * creation. Serialised with onnx-proto. Written by hand because no maintained JavaScript library
 * builds ONNX graphs; this is the base the training graphs (forward, backward, Adam) build on.
 */
export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: Value[] = [];
  private readonly outputs: Value[] = [];
  private readonly names = new Set<string>();
  private readonly recorded: TapeEntry[] = [];
  private readonly int64Constants = new Map<string, number[]>();
  private readonly stopped = new Set<string>();
  private counter = 0;
  /** Names of node outputs, and those given another name as graph outputs (see output()). */
  private readonly producedByNode = new Set<string>();
  private readonly renamed = new Map<string, string>();

  constructor(readonly graphName: string) {}

  /** A graph input fed at run time. */
  input(name: string, shape: readonly Dim[]): Value {
    const value = { name: this.claim(name), shape };
    this.inputs.push(value);
    return value;
  }

  /** A constant tensor stored in the model (weights of an exported policy, constants). */
  constant(name: string, data: Float32Array, shape: readonly number[]): Value {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size)
      throw new GraphBuildError(`${name}: ${data.length} values for shape [${shape}]`);
    this.initializers.push(
      onnx.TensorProto.create({
        name: this.claim(name),
        dims: [...shape],
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
      }),
    );
    return { name, shape };
  }

  /** A scalar constant. */
  scalar(value: number): Value {
    return this.constant(this.freshName('const'), Float32Array.of(value), []);
  }

  /**
   * Marks a value as a graph output (optionally under another name). A node's output that is
   * not an output yet is renamed when serialised rather than copied by an Identity node:
   * onnxruntime runs those copies (~4 µs each, a training graph has dozens).
   */
  output(value: Value, name = value.name): Value {
    if (name === value.name) {
      const renamed = this.renamed.get(value.name);
      if (renamed) throw new GraphBuildError(`${value.name} is already an output, named ${renamed}`);
      this.outputs.push(value);
      return value;
    }
    if (this.producedByNode.has(value.name) && !this.renamed.has(value.name) && !this.isOutput(value.name)) {
      this.renamed.set(value.name, this.claim(name));
      const out = { name, shape: value.shape };
      this.outputs.push(out);
      return out;
    }
    const out = this.node('Identity', [value], value.shape, [], name);
    this.outputs.push(out);
    return out;
  }

  /** x [N, in] · Wᵀ [in, out] + b [out], with W stored [out, in] (Gemm transB = 1). */
  linear(x: Value, weight: Value, bias: Value): Value {
    const [n, inX] = this.rank2(x, 'linear input');
    const [out, inW] = this.rank2(weight, 'linear weight');
    if (inX !== inW)
      throw new GraphBuildError(
        `linear: input has ${String(inX)} features, weight ${weight.name} expects ${String(inW)}`,
      );
    if (bias.shape.length !== 1 || bias.shape[0] !== out) {
      throw new GraphBuildError(
        `linear: bias ${bias.name} must have shape [${String(out)}], has [${bias.shape}]`,
      );
    }
    return this.node('Gemm', [x, weight, bias], [n, out], [{ name: 'transB', int: 1 }]);
  }

  matMul(a: Value, b: Value): Value {
    const [n, k1] = this.rank2(a, 'matMul left');
    const [k2, m] = this.rank2(b, 'matMul right');
    if (k1 !== k2) throw new GraphBuildError(`matMul: inner sizes differ (${String(k1)} vs ${String(k2)})`);
    return this.node('MatMul', [a, b], [n, m]);
  }

  add(a: Value, b: Value): Value {
    return this.node('Add', [a, b], broadcast(a, b, 'Add'));
  }

  sub(a: Value, b: Value): Value {
    return this.node('Sub', [a, b], broadcast(a, b, 'Sub'));
  }

  mul(a: Value, b: Value): Value {
    return this.node('Mul', [a, b], broadcast(a, b, 'Mul'));
  }

  div(a: Value, b: Value): Value {
    return this.node('Div', [a, b], broadcast(a, b, 'Div'));
  }

  min(a: Value, b: Value): Value {
    return this.node('Min', [a, b], broadcast(a, b, 'Min'));
  }

  relu(x: Value): Value {
    return this.node('Relu', [x], x.shape);
  }

  tanh(x: Value): Value {
    return this.node('Tanh', [x], x.shape);
  }

  exp(x: Value): Value {
    return this.node('Exp', [x], x.shape);
  }

  log(x: Value): Value {
    return this.node('Log', [x], x.shape);
  }

  sqrt(x: Value): Value {
    return this.node('Sqrt', [x], x.shape);
  }

  neg(x: Value): Value {
    return this.node('Neg', [x], x.shape);
  }

  square(x: Value): Value {
    return this.node('Mul', [x, x], x.shape);
  }

  /** Clips every value to [low, high] (Clip takes its bounds as inputs from opset 11). */
  clip(x: Value, low: number, high: number): Value {
    return this.node('Clip', [x, this.scalar(low), this.scalar(high)], x.shape);
  }

  /** Mean over `axes` (all by default); `ReduceMean` takes axes as an attribute before opset 18. */
  reduceMean(x: Value, axes: number[] = x.shape.map((_, i) => i), keepDims = false): Value {
    return this.node('ReduceMean', [x], reducedShape(x, axes, keepDims), [
      { name: 'axes', ints: axes },
      { name: 'keepdims', int: keepDims ? 1 : 0 },
    ]);
  }

  /** The serialised model (opset 17, IR 8), with optional key/value metadata and a doc string. */
  toBytes(metadata: Readonly<Record<string, string>> = {}, docString?: string): Uint8Array {
    const valueInfo = (v: Value) =>
      onnx.ValueInfoProto.create({
        name: v.name,
        type: {
          tensorType: {
            elemType: onnx.TensorProto.DataType.FLOAT,
            shape: { dim: v.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
          },
        },
      });
    const { nodes, initializers } = this.live();
    const graph = onnx.GraphProto.create({
      name: this.graphName,
      node: nodes,
      initializer: initializers,
      input: this.inputs.map(valueInfo),
      output: this.outputs.map(valueInfo),
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'armprior',
      opsetImport: [{ domain: '', version: 17 }],
      graph,
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      ...(docString ? { docString } : {}),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /**
   * The nodes the outputs depend on, and the constants they read. onnxruntime runs every node
   * of a graph, used or not, and reverse mode emits some that nothing reads (the backward pass
   * through TD3's target networks, the gradient into a batch input): measured at ~30% of the
   * critic step's time before they were dropped here.
   */
  private live(): {
    nodes: InstanceType<typeof onnx.NodeProto>[];
    initializers: InstanceType<typeof onnx.TensorProto>[];
  } {
    const needed = new Set(this.outputs.map((v) => v.name));
    const kept: InstanceType<typeof onnx.NodeProto>[] = [];
    const rename = (name: string) => this.renamed.get(name) ?? name;
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!;
      const output = node.output.map(rename);
      if (!output.some((name) => needed.has(name))) continue;
      const input = node.input.map(rename);
      kept.push(onnx.NodeProto.create({ ...node, input, output }));
      for (const name of input) needed.add(name);
    }
    return {
      nodes: kept.reverse(),
      initializers: this.initializers.filter((t) => needed.has(t.name)),
    };
  }

  private isOutput(name: string): boolean {
    return this.outputs.some((v) => v.name === name);
  }

  /** A value that gradients do not flow through (a mask, a target). */
  stopGradient(x: Value): Value {
    const out = this.node('Identity', [x], x.shape);
    this.stopped.add(out.name);
    return out;
  }

  /** Whether gradients stop at this value (see {@link GraphBuilder.stopGradient}). */
  isStopped(name: string): boolean {
    return this.stopped.has(name);
  }

  /** The graph's outputs, in the order they were marked. */
  get graphOutputs(): readonly Value[] {
    return this.outputs;
  }

  /** The graph's inputs, in the order they were declared. */
  get graphInputs(): readonly Value[] {
    return this.inputs;
  }

  /** Every node added so far, in order. */
  get tape(): readonly TapeEntry[] {
    return this.recorded;
  }

  /** The values of an int64 constant made by {@link GraphBuilder.int64}, if `name` is one. */
  int64Values(name: string): number[] | undefined {
    return this.int64Constants.get(name);
  }

  /** A 1-D int64 constant (axes, shapes). */
  int64(values: readonly number[]): Value {
    const name = this.claim(this.freshName('int64'));
    this.int64Constants.set(name, [...values]);
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: [values.length],
        dataType: onnx.TensorProto.DataType.INT64,
        int64Data: [...values],
      }),
    );
    return { name, shape: [values.length] };
  }

  /**
   * Any ONNX node, with the output shape given by the caller: the escape hatch the gradient
   * rules use for ops with no typed helper (Shape, Expand, Cast, comparisons…).
   */
  op(opType: string, inputs: Value[], shape: readonly Dim[], attributes: Attribute[] = []): Value {
    return this.node(opType, inputs, shape, attributes);
  }

  /** Sum over `axes` (ReduceSum takes its axes as an int64 input from opset 13). */
  reduceSum(x: Value, axes: number[], keepDims = false): Value {
    return this.node('ReduceSum', [x, this.int64(axes)], reducedShape(x, axes, keepDims), [
      { name: 'keepdims', int: keepDims ? 1 : 0 },
    ]);
  }

  /** Joins 2-D values along their second axis (features), e.g. [observation, action]. */
  concat(values: readonly Value[]): Value {
    const rows = values[0]!.shape[0]!;
    let width = 0;
    for (const v of values) {
      const [r, c] = this.rank2(v, 'concat part');
      if (r !== rows)
        throw new GraphBuildError(
          `concat: ${v.name} has ${String(r)} rows, ${values[0]!.name} has ${String(rows)}`,
        );
      if (typeof c !== 'number')
        throw new GraphBuildError(`concat: ${v.name} needs a fixed number of columns`);
      width += c;
    }
    return this.node('Concat', [...values], [rows, width], [{ name: 'axis', int: 1 }]);
  }

  /** Columns [start, end) of a 2-D value. */
  columns(x: Value, start: number, end: number): Value {
    const [rows] = this.rank2(x, 'columns');
    return this.node(
      'Slice',
      [x, this.int64([start]), this.int64([end]), this.int64([1])],
      [rows, end - start],
    );
  }

  /** The transpose of a 2-D value. */
  transpose(x: Value): Value {
    const [a, b] = this.rank2(x, 'transpose');
    return this.node('Transpose', [x], [b, a], [{ name: 'perm', ints: [1, 0] }]);
  }

  private node(
    opType: string,
    inputs: Value[],
    shape: readonly Dim[],
    attributes: Attribute[] = [],
    name?: string,
  ): Value {
    const output = this.claim(name ?? this.freshName(opType.toLowerCase()));
    this.producedByNode.add(output);
    this.recorded.push({ opType, inputs, output: { name: output, shape }, attributes });
    this.nodes.push(
      onnx.NodeProto.create({
        name: `${opType}_${this.nodes.length}`,
        opType,
        input: inputs.map((v) => v.name),
        output: [output],
        attribute: attributes.map(toAttribute),
      }),
    );
    return { name: output, shape };
  }

  private rank2(value: Value, role: string): [Dim, Dim] {
    if (value.shape.length !== 2)
      throw new GraphBuildError(`${role} ${value.name} must be 2-D, has shape [${value.shape}]`);
    return [value.shape[0]!, value.shape[1]!];
  }

  private claim(name: string): string {
    if (this.names.has(name))
      throw new GraphBuildError(`the name '${name}' is already used in graph ${this.graphName}`);
    this.names.add(name);
    return name;
  }

  /** A name not used yet (claimed by whoever uses it). */
  private freshName(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }
}

function toAttribute(a: Attribute) {
  const { AttributeType } = onnx.AttributeProto;
  if (a.ints) return onnx.AttributeProto.create({ name: a.name, type: AttributeType.INTS, ints: a.ints });
  if (a.float !== undefined)
    return onnx.AttributeProto.create({ name: a.name, type: AttributeType.FLOAT, f: a.float });
  return onnx.AttributeProto.create({ name: a.name, type: AttributeType.INT, i: a.int ?? 0 });
}

/** NumPy broadcasting of two shapes; a named dimension matches itself or 1. */
function broadcast(a: Value, b: Value, op: string): Dim[] {
  const rank = Math.max(a.shape.length, b.shape.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a.shape[a.shape.length - rank + i] ?? 1;
    const db = b.shape[b.shape.length - rank + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else
      throw new GraphBuildError(
        `${op}: shapes [${a.shape}] (${a.name}) and [${b.shape}] (${b.name}) do not broadcast`,
      );
  }
  return out;
}

function reducedShape(x: Value, axes: number[], keepDims: boolean): Dim[] {
  for (const axis of axes) {
    if (axis < 0 || axis >= x.shape.length)
      throw new GraphBuildError(`reduce: axis ${axis} out of range for [${x.shape}]`);
  }
  return keepDims
    ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : x.shape.filter((_, i) => !axes.includes(i));
}

/** Reads a serialised model's key/value metadata (onnxruntime's Node API does not expose it). */
export function readModelMetadata(bytes: Uint8Array): Record<string, string> {
  const model = onnx.ModelProto.decode(bytes);
  return Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
}
