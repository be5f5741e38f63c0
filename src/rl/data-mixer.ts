import type { Rng } from '../core/rng.js';
import type { Batch, ReplayBuffer, SampleOptions } from './replay-buffer.js';

// The share of demonstrations per batch follows a LinearSchedule (schedule.ts): RLingua mixes
// prior demonstrations with online data, and a decaying share lets the policy's own data take over.

/**
 * Fills `batch` with round(fraction × size) rows from the demonstration buffer and the rest
 * from the online buffer (all from one when the other is empty), each as `sampling` says for
 * it. Returns the demo rows: they come first in the batch.
 */
export function sampleMixed(
  batch: Batch,
  rng: Rng,
  buffers: { online: ReplayBuffer; demo: ReplayBuffer },
  fraction: number,
  sampling: { demo: SampleOptions; online: SampleOptions } = { demo: {}, online: {} },
): number {
  const { online, demo } = buffers;
  if (online.size === 0 && demo.size === 0) throw new Error('both replay buffers are empty');
  let demoRows = Math.round(Math.min(1, Math.max(0, fraction)) * batch.size);
  if (demo.size === 0) demoRows = 0;
  if (online.size === 0) demoRows = batch.size;
  if (demoRows > 0) demo.sampleInto(batch, rng, sampling.demo, 0, demoRows);
  if (demoRows < batch.size) online.sampleInto(batch, rng, sampling.online, demoRows, batch.size - demoRows);
  return demoRows;
}
