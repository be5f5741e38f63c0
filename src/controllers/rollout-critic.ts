import type { ObservationLayout } from '../contract/controller-contract.js';
import type { EpisodeSink } from '../episodes/sink.js';
import type { EpisodeBegin, Step } from '../episodes/step.js';

/**
 * Automatic critic feedback (RLingua's rollout summary): from the observations of an episode,
 * where it went wrong, in words a person and an LLM can act on: never reached the object, lost
 * the grasp, overshot the goal… Works from the named observation fields, so it covers every
 * task that has them.
 */
export interface EpisodeDiagnosis {
  success: boolean;
  /** The first thing that went wrong, or 'success'. */
  outcome: string;
  closestGoalDistance: number;
  finalGoalDistance: number;
  controllerFailures: number;
  abortReason: string | undefined;
}

const REACHED_M = 0.06;
const MOVED_M = 0.02;
const LIFTED_M = 0.02;

/** Follows one episode, step by step. */
export class EpisodeTracker implements EpisodeSink {
  private readonly field: (name: string) => { offset: number; size: number } | undefined;
  private readonly ee: number;
  private readonly object: number | undefined;
  private readonly handle: number | undefined;
  private readonly opening: number | undefined;
  private readonly oneSidedGoal: boolean;
  private start: number[] | undefined;
  private minEeToTarget = Number.POSITIVE_INFINITY;
  private maxObjectShift = 0;
  private maxLift = 0;
  private maxOpening = 0;
  private closestGoal = Number.POSITIVE_INFINITY;
  private lastGoalDistance = Number.POSITIVE_INFINITY;
  private lastObjectHeight = 0;
  private goalValue = 0;
  private firstAchieved: number[] | undefined;
  private lastAchieved: number[] = [];
  private lastDesired: number[] = [];

  constructor(
    layout: ObservationLayout,
    private readonly distanceThresholdM: number,
  ) {
    const byName = new Map(layout.fields.map((f) => [f.name, f]));
    this.field = (name) => byName.get(name);
    this.ee = this.field('eePosition')?.offset ?? 0;
    this.object = this.field('objectPosition')?.offset;
    this.handle = this.field('handlePosition')?.offset;
    this.opening = this.field('drawerOpening')?.offset;
    this.oneSidedGoal = this.opening !== undefined;
  }

  /** As an episode sink, it sees the state after reset and the state after every step. */
  begin(begin: EpisodeBegin): void {
    if (begin.state) this.observe(begin.state.observation, begin.state.achievedGoal, begin.state.desiredGoal);
  }

  step(step: Step): void {
    this.observe(step.nextObservation, step.nextAchievedGoal, step.desiredGoal);
  }

  end(): void {}

  observe(
    observation: ArrayLike<number>,
    achievedGoal: ArrayLike<number>,
    desiredGoal: ArrayLike<number>,
  ): void {
    const at = (offset: number) => [observation[offset]!, observation[offset + 1]!, observation[offset + 2]!];
    const ee = at(this.ee);
    const target =
      this.object !== undefined ? at(this.object) : this.handle !== undefined ? at(this.handle) : undefined;
    if (target) this.minEeToTarget = Math.min(this.minEeToTarget, distance(ee, target));
    if (this.object !== undefined) {
      const object = at(this.object);
      this.start ??= object;
      this.maxObjectShift = Math.max(this.maxObjectShift, distance(object, this.start));
      this.maxLift = Math.max(this.maxLift, object[2]! - this.start[2]!);
      this.lastObjectHeight = object[2]! - this.start[2]!;
    }
    if (this.opening !== undefined) this.maxOpening = Math.max(this.maxOpening, observation[this.opening]!);
    this.firstAchieved ??= Array.from(achievedGoal);
    this.lastAchieved = Array.from(achievedGoal);
    this.lastDesired = Array.from(desiredGoal);
    let d: number;
    if (this.oneSidedGoal) {
      this.goalValue = desiredGoal[0]!;
      d = Math.max(0, desiredGoal[0]! - achievedGoal[0]!);
    } else {
      d = 0;
      for (let i = 0; i < desiredGoal.length; i++) d += (desiredGoal[i]! - achievedGoal[i]!) ** 2;
      d = Math.sqrt(d);
    }
    this.closestGoal = Math.min(this.closestGoal, d);
    this.lastGoalDistance = d;
  }

  /** What happened, once the episode is over. */
  diagnose(
    success: boolean,
    failures: readonly { kind: string }[] = [],
    abortReason: string | undefined = undefined,
    usesGripperToLift = false,
  ): EpisodeDiagnosis {
    const base = {
      success,
      closestGoalDistance: this.closestGoal,
      finalGoalDistance: this.lastGoalDistance,
      controllerFailures: failures.length,
      abortReason,
    };
    if (success) return { ...base, outcome: 'success' };
    return {
      ...base,
      outcome: abortReason ? 'ended by controller errors' : this.failurePhase(usesGripperToLift),
    };
  }

  private failurePhase(usesGripperToLift: boolean): string {
    const thr = this.distanceThresholdM;
    if (this.handle !== undefined) {
      if (this.minEeToTarget > REACHED_M) return 'never reached the handle';
      if (this.maxOpening < 0.01) return 'reached the handle but did not open the drawer';
      if (this.maxOpening < this.goalValue) return 'opened the drawer, but not far enough';
      return 'opened the drawer far enough, then it closed again';
    }
    if (this.object !== undefined) {
      if (this.minEeToTarget > REACHED_M) return 'never reached the object';
      if (this.maxObjectShift < MOVED_M) return 'reached the object but did not move it';
      if (usesGripperToLift && this.maxLift < LIFTED_M && this.closestGoal >= thr)
        return 'moved the object but never lifted it';
      if (
        usesGripperToLift &&
        this.maxLift >= LIFTED_M &&
        this.lastObjectHeight < LIFTED_M / 2 &&
        this.closestGoal >= thr
      ) {
        return 'lifted the object but lost the grasp';
      }
    }
    if (this.closestGoal < thr) return 'reached the goal but left it again (overshot or dropped)';
    return this.howItMissed();
  }

  /** Where the achieved goal ended relative to the straight line from its start to the goal. */
  private howItMissed(): string {
    const start = this.firstAchieved ?? this.lastAchieved;
    const travel = this.lastAchieved.map((x, i) => x - start[i]!);
    const line = this.lastDesired.map((x, i) => x - start[i]!);
    const length = Math.hypot(...line);
    if (length < 1e-9) return 'moved away from the goal';
    const along = travel.reduce((sum, x, i) => sum + x * line[i]!, 0) / length;
    const side = Math.hypot(...travel.map((x, i) => x - (along * line[i]!) / length));
    if (along > length + this.distanceThresholdM / 2) return 'overshot the goal';
    if (side > this.distanceThresholdM) return 'went off the line to the goal';
    return 'stopped short of the goal';
  }
}

/** Summary of a set of diagnosed episodes: the text the person reads and the LLM gets. */
export function summarizeDiagnoses(
  diagnoses: readonly EpisodeDiagnosis[],
  failureExamples: readonly string[] = [],
): string {
  const n = diagnoses.length;
  const successes = diagnoses.filter((d) => d.success).length;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const lines = [
    `success rate: ${successes}/${n} (${((100 * successes) / Math.max(1, n)).toFixed(0)}%)`,
    `final distance to the goal: mean ${mean(diagnoses.map((d) => d.finalGoalDistance)).toFixed(3)} m; closest approach: mean ${mean(diagnoses.map((d) => d.closestGoalDistance)).toFixed(3)} m`,
  ];
  const failed = failureCounts(diagnoses);
  if (failed.length > 0) {
    lines.push('failed episodes:');
    for (const { outcome, count } of failed) lines.push(`  - ${count} × ${outcome}`);
  }
  const errors = diagnoses.reduce((k, d) => k + d.controllerFailures, 0);
  if (errors > 0) {
    lines.push(`controller errors: ${errors} failed act() calls (answered with a zero action)`);
    for (const example of failureExamples.slice(0, 3)) lines.push(`  e.g. ${example}`);
  }
  return lines.join('\n');
}

/** How many failed episodes went wrong in each way, the most common first. */
export function failureCounts(
  diagnoses: readonly Pick<EpisodeDiagnosis, 'success' | 'outcome'>[],
): { outcome: string; count: number }[] {
  const outcomes = new Map<string, number>();
  for (const d of diagnoses) if (!d.success) outcomes.set(d.outcome, (outcomes.get(d.outcome) ?? 0) + 1);
  return [...outcomes].map(([outcome, count]) => ({ outcome, count })).sort((a, b) => b.count - a.count);
}

function distance(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);
}
