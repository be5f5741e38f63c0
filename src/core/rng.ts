import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

/**
 * The one seeded random source. It is passed explicitly to whatever needs randomness
 * (task resets, random controllers, learners); nothing in armprior calls `Math.random`.
 *
 * Backed by pure-rand's xoroshiro128+; its state can be saved and restored for checkpoints.
 */
export class Rng {
  private readonly gen: JumpableRandomGenerator;
  /** Second value of the last Box-Muller pair, consumed by the next `normal()` call. */
  private spareNormal: number | undefined;

  private constructor(gen: JumpableRandomGenerator) {
    this.gen = gen;
  }

  /** A generator seeded with a 32-bit integer seed. */
  static fromSeed(seed: number): Rng {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    return new Rng(xoroshiro128plus(seed | 0));
  }

  /** Restores a generator from {@link Rng.getState}. */
  static fromState(state: readonly number[]): Rng {
    const [spareFlag, spare, ...genState] = state;
    const rng = new Rng(xoroshiro128plusFromState(genState));
    if (spareFlag === 1 && spare !== undefined) rng.spareNormal = spare;
    return rng;
  }

  /** Serialisable state (plain numbers) that {@link Rng.fromState} turns back into the same stream. */
  getState(): number[] {
    return [this.spareNormal === undefined ? 0 : 1, this.spareNormal ?? 0, ...this.gen.getState()];
  }

  /** An independent stream (the generator's jump), leaving this one advanced past it. */
  split(): Rng {
    const child = new Rng(this.gen.clone() as JumpableRandomGenerator);
    this.gen.jump();
    return child;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * uniformFloat64(this.gen);
  }

  /** Uniform integer in [low, high] (both included). */
  int(low: number, high: number): number {
    return uniformInt(this.gen, low, high);
  }

  /** Standard normal sample (Box-Muller). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const s = this.spareNormal;
      this.spareNormal = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniformFloat64(this.gen);
    const v = uniformFloat64(this.gen);
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}
