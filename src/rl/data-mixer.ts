import type { Rng } from '../core/rng.js';
import type { Batch, HerOptions, ReplayBuffer } from './replay-buffer.js';

/**
 * Share of each batch drawn from the demonstration buffer: `initial` at step 0, moving linearly
 * to `final` by `decaySteps` (RLingua mixes prior demonstrations with online data; a decaying
 * share lets the policy's own data take over as it improves).
 */
export interface DemoFractionSchedule {
  initial: number;
  final: number;
  decaySteps: number;
}

export function demoFraction(schedule: DemoFractionSchedule, step: number): number {
  if (schedule.decaySteps <= 0 || step >= schedule.decaySteps) return schedule.final;
  const t = Math.max(0, step) / schedule.decaySteps;
  return schedule.initial + (schedule.final - schedule.initial) * t;
}

/**
 * Fills `batch` with round(fraction × size) rows from the demonstration buffer and the rest
 * from the online buffer (all from one when the other is empty). Returns the demo rows: they
 * come first in the batch.
 */
export function sampleMixed(
  batch: Batch,
  rng: Rng,
  buffers: { online: ReplayBuffer; demo: ReplayBuffer },
  fraction: number,
  her?: HerOptions,
): number {
  const { online, demo } = buffers;
  if (online.size === 0 && demo.size === 0) throw new RangeError('both replay buffers are empty');
  let demoRows = Math.round(Math.min(1, Math.max(0, fraction)) * batch.size);
  if (demo.size === 0) demoRows = 0;
  if (online.size === 0) demoRows = batch.size;
  if (demoRows > 0) demo.sampleInto(batch, rng, her, 0, demoRows);
  if (demoRows < batch.size) online.sampleInto(batch, rng, her, demoRows, batch.size - demoRows);
  return demoRows;
}
