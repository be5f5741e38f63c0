/**
 * A value that moves linearly from `initial` (at step 0) to `final` (at `decaySteps`) and stays
 * there: RLingua's decaying probability of letting the prior act, the decaying share of
 * demonstrations in a batch, the imitation weight.
 */
export interface LinearSchedule {
  initial: number;
  final: number;
  decaySteps: number;
}

export function linearSchedule(schedule: LinearSchedule, step: number): number {
  if (schedule.decaySteps <= 0 || step >= schedule.decaySteps) return schedule.final;
  const t = Math.max(0, step) / schedule.decaySteps;
  return schedule.initial + (schedule.final - schedule.initial) * t;
}
