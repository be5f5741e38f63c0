import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
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

  /**
   * A generator seeded with an integer seed. The seed is spread over the 128-bit state with
   * splitmix32 first: pure-rand's `xoroshiro128plus(seed)` puts a small seed in the state almost
   * as is, and its first draws were then ~1.0 for every seed from 0 to 1049 (so every episode's
   * goal sat at the edge of its range).
   */
  static fromSeed(seed: number): Rng {
    // Seeds from users are checked where they are read (CLI options, config schemas): here a
    // fraction is a caller's bug, not bad input (issue #18).
    if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
    let x = seed | 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      words.push(splitmix32(x));
    }
    return new Rng(xoroshiro128plusFromState(words));
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

/** splitmix32's output function: a well-mixed 32-bit value from a counter. */
function splitmix32(x: number): number {
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}
