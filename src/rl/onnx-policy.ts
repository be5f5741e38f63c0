import ort from 'onnxruntime-node';
import { ArmpriorError, messageOf } from '../core/errors.js';
import { INPUT_LIMITS, InputFileError, readInputFile } from '../core/input-file.js';
import { readModelMetadata } from './graph/builder.js';
import type { PolicyDescription, PolicyMetadata } from './policy-export.js';

/** More inputs or actions than any task has by far: metadata beyond it is not a policy's. */
const MAX_POLICY_SIZE = 100_000;

/** An ONNX policy file that cannot be used: unreadable, not ONNX, or not fitting the task. */
export class PolicyLoadError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('policy_invalid', message, options);
  }
}

/** A policy exported by armprior, run with onnxruntime-node: raw observation+goal in, action out. */
export class OnnxPolicy {
  private readonly input: Float32Array;

  private constructor(
    readonly file: string,
    readonly metadata: PolicyMetadata,
    private readonly session: ort.InferenceSession,
    /** Every key/value of the file's metadata (a best policy's evaluation among them). */
    readonly rawMetadata: Readonly<Record<string, string>>,
  ) {
    this.input = new Float32Array(metadata.inputSize);
  }

  /**
   * Loads a policy and checks it against what the caller will feed it: `expected.inputSize`
   * (observation + goal of the env or robot) and `expected.actionSize`. The graph itself is
   * checked against its metadata (issue #17 §4: a file whose metadata named one task and whose
   * graph another was accepted, then failed on its first call, inside a run as a robot fault).
   */
  static async load(
    file: string,
    expected: {
      inputSize: number;
      actionSize: number;
      /** The env's input fields (policyInputFields): a file that lists its own must list these. */
      fields?: readonly { name: string; size: number }[];
    },
  ): Promise<OnnxPolicy> {
    const bytes = readPolicyFile(file);
    let raw: Record<string, string>;
    let session: ort.InferenceSession;
    try {
      raw = readModelMetadata(bytes);
      // One thread, no spinning: a batch-1 MLP gains nothing from a thread pool, and pool
      // threads spinning between calls took a core from the real-time loop (bench loop:
      // 178% CPU and 80 overruns in 10 s at 500 Hz with onnxruntime's defaults).
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
    } catch (cause) {
      throw new PolicyLoadError(
        `${file} is not a valid ONNX model: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
    const inputSize = Number(raw['armprior.input_size']);
    const actionSize = Number(raw['armprior.action_size']);
    const plausible = (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_POLICY_SIZE;
    if (!plausible(inputSize) || !plausible(actionSize)) {
      await session.release();
      throw new PolicyLoadError(
        `${file} is not an armprior policy (no armprior metadata: export it with armprior export)`,
      );
    }
    const graphProblem = await checkGraph(session, inputSize, actionSize);
    if (graphProblem) {
      await session.release();
      throw new PolicyLoadError(
        `${file}: its metadata says ${inputSize} inputs and ${actionSize} actions (task '${raw['armprior.task']}'), but ${graphProblem}; the file was not written by armprior export, or was changed since`,
      );
    }
    if (inputSize !== expected.inputSize || actionSize !== expected.actionSize) {
      await session.release();
      throw new PolicyLoadError(
        `${file} takes ${inputSize} inputs and gives ${actionSize} actions (task '${raw['armprior.task']}'), but this robot/task has ${expected.inputSize} inputs (observation + goal) and ${expected.actionSize} actions`,
      );
    }
    const metadata: PolicyMetadata = {
      task: raw['armprior.task'] ?? '',
      inputSize,
      actionSize,
      observationFields: (raw['armprior.observation_fields'] ?? '').split(',').filter(Boolean),
      algorithm: raw['armprior.algorithm'] ?? '',
    };
    const described = readDescription(raw, metadata);
    if (described) metadata.described = described;
    const layoutProblem =
      described && expected.fields ? fieldDifference(metadata, described, expected.fields) : undefined;
    if (layoutProblem) {
      await session.release();
      throw new PolicyLoadError(
        `${file} was trained on other inputs than this robot/task gives (${layoutProblem}): train it for this robot, or run it on robot '${described!.robot}'`,
      );
    }
    return new OnnxPolicy(file, metadata, session, raw);
  }

  /** The action for one observation and desired goal. */
  async act(observation: ArrayLike<number>, desiredGoal: ArrayLike<number>): Promise<Float32Array> {
    const n = observation.length;
    if (n + desiredGoal.length !== this.metadata.inputSize) {
      throw new PolicyLoadError(
        `${this.file}: got ${n} + ${desiredGoal.length} values, expected ${this.metadata.inputSize}`,
      );
    }
    for (let i = 0; i < n; i++) this.input[i] = observation[i]!;
    for (let i = 0; i < desiredGoal.length; i++) this.input[n + i] = desiredGoal[i]!;
    const out = await this.session.run({
      input: new ort.Tensor('float32', this.input, [1, this.metadata.inputSize]),
    });
    return out.action!.data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** Dimensions as text: `[batch, 21]`. */
function shapeText(shape: ReadonlyArray<number | string>): string {
  return `[${shape.join(', ')}]`;
}

/**
 * What is wrong with the graph's signature for a policy of `inputSize` inputs and `actionSize`
 * actions (one float32 input `input` [batch, inputSize], a float32 output `action`
 * [batch, actionSize]), or undefined when it fits. Declared shapes are compared first; then one
 * call on zeros proves it, since a graph may leave its shapes undeclared.
 */
async function checkGraph(
  session: ort.InferenceSession,
  inputSize: number,
  actionSize: number,
): Promise<string | undefined> {
  const input = session.inputMetadata.find((m) => m.name === 'input');
  const action = session.outputMetadata.find((m) => m.name === 'action');
  if (session.inputMetadata.length !== 1 || !input?.isTensor || input.type !== 'float32') {
    return `its graph takes ${session.inputMetadata.map((m) => m.name).join(', ') || 'nothing'}, not one float32 tensor 'input'`;
  }
  if (!action?.isTensor || action.type !== 'float32') {
    return `its graph gives ${session.outputMetadata.map((m) => m.name).join(', ') || 'nothing'}, not a float32 tensor 'action'`;
  }
  const fits = (shape: ReadonlyArray<number | string>, size: number) =>
    shape.length === 0 ||
    (shape.length === 2 && shape[1] === size && (typeof shape[0] === 'string' || shape[0] === 1));
  if (!fits(input.shape, inputSize) || !fits(action.shape, actionSize)) {
    return `its graph takes ${shapeText(input.shape)} and gives ${shapeText(action.shape)}`;
  }
  try {
    const out = await session.run({
      input: new ort.Tensor('float32', new Float32Array(inputSize), [1, inputSize]),
    });
    const size = out.action?.data.length;
    if (size !== actionSize) return `its graph gives ${size} values for one input`;
  } catch (error) {
    return `its graph fails on one input of ${inputSize} values (${error instanceof Error ? error.message : String(error)})`;
  }
  return undefined;
}

/** A policy file's bytes, bounded; a file that cannot be read is a {@link PolicyLoadError}. */
function readPolicyFile(file: string): Uint8Array {
  try {
    return readInputFile(file, { maxBytes: INPUT_LIMITS.policy, what: 'the policy' });
  } catch (cause) {
    if (cause instanceof InputFileError) throw new PolicyLoadError(cause.message, { cause });
    throw cause;
  }
}

/**
 * The task a policy file names in its metadata (`armprior.task`), undefined when it names none.
 * Throws {@link PolicyLoadError} for a file that cannot be read or is not ONNX.
 */
export function policyTaskOf(file: string): string | undefined {
  const bytes = readPolicyFile(file);
  try {
    return readModelMetadata(bytes)['armprior.task'] || undefined;
  } catch (cause) {
    throw new PolicyLoadError(`${file} is not a valid ONNX model: ${messageOf(cause)}`, { cause });
  }
}

/** The description a file exported since issue #21 carries (undefined for older files, or one that does not add up). */
function readDescription(raw: Record<string, string>, m: PolicyMetadata): PolicyDescription | undefined {
  const sizes = (raw['armprior.observation_sizes'] ?? '').split(',').filter(Boolean).map(Number);
  const robot = raw['armprior.robot'];
  if (
    !robot ||
    sizes.length !== m.observationFields.length ||
    sizes.some((n) => !(Number.isInteger(n) && n > 0))
  )
    return undefined;
  return {
    robot,
    observationSizes: sizes,
    actionNames: (raw['armprior.action_names'] ?? '').split(',').filter(Boolean),
    maxEeStepM: Number(raw['armprior.action_scale_m']),
    ctrlDtSec: Number(raw['armprior.control_period_s']),
  };
}

/** The first input field where the file and the env differ, said for a person; undefined when they agree. */
function fieldDifference(
  m: PolicyMetadata,
  d: PolicyDescription,
  fields: readonly { name: string; size: number }[],
): string | undefined {
  const mine = m.observationFields.map((name, i) => `${name}(${d.observationSizes[i]})`);
  const theirs = fields.map((f) => `${f.name}(${f.size})`);
  for (let i = 0; i < Math.max(mine.length, theirs.length); i++) {
    if (mine[i] !== theirs[i])
      return `input field ${i + 1} is ${mine[i] ?? 'missing'} in the file, ${theirs[i] ?? 'missing'} here`;
  }
  return undefined;
}
