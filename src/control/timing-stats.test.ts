import { describe, expect, it } from 'vitest';
import { LoopStatsRecorder, summarizeTimings, TimingSamples } from './timing-stats.js';

describe('summarizeTimings', () => {
  it('gives nearest-rank percentiles and the maximum', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
    expect(summarizeTimings(samples)).toEqual({ count: 100, p50: 50, p99: 99, max: 100 });
  });

  it('does not reorder the caller’s samples', () => {
    const samples = [3, 1, 2];
    summarizeTimings(samples);
    expect(samples).toEqual([3, 1, 2]);
  });

  it('summarises one sample as itself and none as zeros', () => {
    expect(summarizeTimings([0.7])).toEqual({ count: 1, p50: 0.7, p99: 0.7, max: 0.7 });
    expect(summarizeTimings([])).toEqual({ count: 0, p50: 0, p99: 0, max: 0 });
  });

  it('sorts numerically, not as strings', () => {
    expect(summarizeTimings([10, 9, 100]).p50).toBe(10);
  });
});

describe('TimingSamples', () => {
  it('accumulates samples', () => {
    const s = new TimingSamples();
    for (const ms of [1, 2, 3, 4]) s.add(ms);
    expect(s.count).toBe(4);
    expect(s.summary()).toEqual({ count: 4, p50: 2, p99: 4, max: 4 });
  });
});

describe('LoopStatsRecorder', () => {
  const tick = (index: number, lateMs = 0) => ({
    index,
    deadlineMs: 2 * index,
    firedAtMs: 2 * index + lateMs,
  });

  it('counts index gaps and dropped ticks as overruns', () => {
    const r = new LoopStatsRecorder(0);
    for (const index of [0, 1, 4, 5, 9]) r.tickEmitted(tick(index));
    r.tickDropped();
    expect(r.snapshot(20).overruns).toBe(2 + 3 + 1);
  });

  it('counts deadlines skipped before the first tick', () => {
    const r = new LoopStatsRecorder(0);
    r.tickEmitted(tick(2));
    expect(r.snapshot(5).overruns).toBe(2);
  });

  it('builds LoopStats from ticks, steps and holds', () => {
    const r = new LoopStatsRecorder(100);
    r.tickHandled(tick(0, 0.25));
    r.tickHandled(tick(1, 0.5));
    r.stepDone({ actorLatencyMs: 0.1, interventions: ['joint_velocity', 'workspace'] });
    r.stepDone({ actorLatencyMs: 0.3, interventions: ['joint_velocity'] });
    r.watchdogHold();
    r.stepAbandoned();
    r.linkDown();
    r.linkDown();
    const stats = r.snapshot(1100);
    expect(stats).toEqual({
      elapsedMs: 1000,
      steps: 2,
      rateHz: 2,
      periodJitterMs: { count: 2, p50: 0.25, p99: 0.5, max: 0.5 },
      actorLatencyMs: { count: 2, p50: 0.1, p99: 0.3, max: 0.3 },
      overruns: 0,
      watchdogHolds: 1,
      abandonedSteps: 1,
      linkDownTicks: 2,
      interventions: {
        non_finite: 0,
        joint_velocity: 2,
        joint_acceleration: 0,
        joint_position: 0,
        workspace: 1,
      },
    });
  });

  it('reports a rate of 0 before any time has passed', () => {
    expect(new LoopStatsRecorder(5).snapshot(5).rateHz).toBe(0);
  });

  it('hands out snapshots that later events do not change', () => {
    const r = new LoopStatsRecorder(0);
    const before = r.snapshot(1);
    r.stepDone({ actorLatencyMs: 1, interventions: ['non_finite'] });
    expect(before.interventions.non_finite).toBe(0);
    expect(before.steps).toBe(0);
  });
});
