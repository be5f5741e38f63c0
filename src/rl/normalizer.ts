/**
 * Running mean and variance of observations (or goals), with clipping: inputs to the networks
 * are (x − mean) / sqrt(var + eps), clipped to ±clip (SB3's VecNormalize, HER's normaliser).
 * Updated with Chan et al.'s parallel formula, so a batch of any size updates it in one go.
 * Its state is plain numbers: saved in checkpoints and exported with the policy.
 */
export class RunningNormalizer {
  readonly size: number;
  readonly clip: number;
  readonly epsilon: number;
  private readonly mean: Float64Array;
  /** Sum of squared deviations from the mean (M2). */
  private readonly m2: Float64Array;
  private count = 0;

  constructor(size: number, options: { clip?: number; epsilon?: number } = {}) {
    this.size = size;
    this.clip = options.clip ?? 5;
    this.epsilon = options.epsilon ?? 1e-8;
    this.mean = new Float64Array(size);
    this.m2 = new Float64Array(size);
  }

  /** Adds `rows` vectors stored one after another in `values`. */
  update(values: ArrayLike<number>, rows: number): void {
    const n = this.size;
    if (values.length !== rows * n) {
      throw new Error(`normalizer of size ${n} got ${values.length} values for ${rows} rows`);
    }
    if (rows === 0) return;
    for (let j = 0; j < n; j++) {
      let batchMean = 0;
      for (let r = 0; r < rows; r++) batchMean += values[r * n + j]!;
      batchMean /= rows;
      let batchM2 = 0;
      for (let r = 0; r < rows; r++) batchM2 += (values[r * n + j]! - batchMean) ** 2;
      const total = this.count + rows;
      const delta = batchMean - this.mean[j]!;
      this.mean[j] = this.mean[j]! + (delta * rows) / total;
      this.m2[j] = this.m2[j]! + batchM2 + (delta * delta * this.count * rows) / total;
    }
    this.count += rows;
  }

  /** Observations seen. */
  get samples(): number {
    return this.count;
  }

  /** Mean and (population) variance per component. */
  statistics(): { mean: Float64Array; variance: Float64Array } {
    const variance = new Float64Array(this.size);
    for (let j = 0; j < this.size; j++) variance[j] = this.count > 0 ? this.m2[j]! / this.count : 1;
    return { mean: this.mean.slice(), variance };
  }

  /** Normalises `rows` vectors from `values` into `out` (may be the same array). */
  normalize(values: ArrayLike<number>, rows: number, out: Float32Array | Float64Array): void {
    const { mean, variance } = this.statistics();
    const n = this.size;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        const z = (values[r * n + j]! - mean[j]!) / Math.sqrt(variance[j]! + this.epsilon);
        out[r * n + j] = Math.min(this.clip, Math.max(-this.clip, z));
      }
    }
  }

  /** Serialisable state (checkpoints, export). */
  getState(): { size: number; clip: number; epsilon: number; count: number; mean: number[]; m2: number[] } {
    return {
      size: this.size,
      clip: this.clip,
      epsilon: this.epsilon,
      count: this.count,
      mean: Array.from(this.mean),
      m2: Array.from(this.m2),
    };
  }

  /** Takes over another normaliser's statistics (same size): restoring into an existing object. */
  loadFrom(other: RunningNormalizer): void {
    if (other.size !== this.size) {
      throw new Error(
        `normalizer of size ${this.size} cannot take the statistics of one of size ${other.size}`,
      );
    }
    this.mean.set(other.mean);
    this.m2.set(other.m2);
    this.count = other.count;
  }

  static fromState(state: ReturnType<RunningNormalizer['getState']>): RunningNormalizer {
    if (state.mean.length !== state.size || state.m2.length !== state.size) {
      throw new Error(`normalizer state of size ${state.size} holds ${state.mean.length} means`);
    }
    const normalizer = new RunningNormalizer(state.size, { clip: state.clip, epsilon: state.epsilon });
    normalizer.mean.set(state.mean);
    normalizer.m2.set(state.m2);
    normalizer.count = state.count;
    return normalizer;
  }
}
