import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { ArmpriorError } from '../core/errors.js';
import { readModelMetadata } from './graph/builder.js';
import type { PolicyMetadata } from './policy-export.js';

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
   * (observation + goal of the env or robot) and `expected.actionSize`.
   */
  static async load(file: string, expected: { inputSize: number; actionSize: number }): Promise<OnnxPolicy> {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (cause) {
      throw new PolicyLoadError(
        `cannot read the policy ${file} (${(cause as NodeJS.ErrnoException).code ?? cause})`,
        { cause },
      );
    }
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
    if (!Number.isInteger(inputSize) || !Number.isInteger(actionSize)) {
      await session.release();
      throw new PolicyLoadError(
        `${file} is not an armprior policy (no armprior metadata: export it with armprior export)`,
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
