import { type SchedulerLike, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { controlClock$ } from './control-clock.js';
import type { Tick } from './loop-contract.js';
import { LateScheduler } from './test-helpers.js';

function virtualScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** Runs the clock in virtual time and returns the first `count` ticks. */
function ticksOf(periodMs: number, count: number, wrap?: (ts: TestScheduler) => SchedulerLike): Tick[] {
  const ts = virtualScheduler();
  const ticks: Tick[] = [];
  ts.run(() => {
    controlClock$(periodMs, wrap ? wrap(ts) : ts)
      .pipe(take(count))
      .subscribe((tick) => ticks.push(tick));
  });
  return ticks;
}

describe('controlClock$', () => {
  it('ticks at start + k × period, starting with index 0 at the start', () => {
    const ts = virtualScheduler();
    ts.run(({ expectObservable }) => {
      const tick = (index: number): Tick => ({ index, deadlineMs: 2 * index, firedAtMs: 2 * index });
      expectObservable(controlClock$(2, ts).pipe(take(4))).toBe('a 1ms b 1ms c 1ms (d|)', {
        a: tick(0),
        b: tick(1),
        c: tick(2),
        d: tick(3),
      });
    });
  });

  it('does not drift when every wake-up is late by less than a period', () => {
    const ticks = ticksOf(2, 1000, (ts) => new LateScheduler(ts, () => 0.5));
    expect(ticks.map((t) => t.index)).toEqual(Array.from({ length: 1000 }, (_, k) => k));
    // Lateness stays 0.5 at tick 999: measured from the fixed start, not from the previous firing.
    for (const t of ticks) {
      expect(t.deadlineMs).toBe(2 * t.index);
      expect(t.firedAtMs).toBe(2 * t.index + 0.5);
    }
  });

  it('keeps exact deadlines over a long run with a fractional period', () => {
    const ticks = ticksOf(1000 / 3, 3000);
    const last = ticks[2999]!;
    expect(last.index).toBe(2999);
    expect(last.deadlineMs).toBeCloseTo(999_666.667, 2);
    expect(Math.abs(last.firedAtMs - last.deadlineMs)).toBeLessThan(1e-6);
  });

  it('skips the deadlines missed by a late wake-up instead of bursting to catch up', () => {
    // The wake-up due at 6 comes 5 ms late, at 11: deadlines 6, 8 and 10 have passed.
    const ticks = ticksOf(2, 6, (ts) => new LateScheduler(ts, (due) => (due === 6 ? 5 : 0)));
    expect(ticks).toEqual([
      { index: 0, deadlineMs: 0, firedAtMs: 0 },
      { index: 1, deadlineMs: 2, firedAtMs: 2 },
      { index: 2, deadlineMs: 4, firedAtMs: 4 },
      { index: 5, deadlineMs: 10, firedAtMs: 11 },
      { index: 6, deadlineMs: 12, firedAtMs: 12 },
      { index: 7, deadlineMs: 14, firedAtMs: 14 },
    ]);
  });

  it('skips when late by exactly one period, not when late by less', () => {
    const exact = ticksOf(2, 3, (ts) => new LateScheduler(ts, (due) => (due === 2 ? 2 : 0)));
    expect(exact.map((t) => t.index)).toEqual([0, 2, 3]);
    const almost = ticksOf(2, 3, (ts) => new LateScheduler(ts, (due) => (due === 2 ? 1.9 : 0)));
    expect(almost.map((t) => t.index)).toEqual([0, 1, 2]);
    expect(almost[1]!.firedAtMs).toBeCloseTo(3.9, 9);
  });

  it('stops scheduling when unsubscribed', () => {
    const ts = virtualScheduler();
    ts.run(({ expectObservable }) => {
      expectObservable(controlClock$(2, ts), '^ 4ms !').toBe('a 1ms b 1ms c', {
        a: { index: 0, deadlineMs: 0, firedAtMs: 0 },
        b: { index: 1, deadlineMs: 2, firedAtMs: 2 },
        c: { index: 2, deadlineMs: 4, firedAtMs: 4 },
      });
    });
    // Nothing left in the virtual queue: the pending wake-up was cancelled.
    expect(ts.actions.length).toBe(0);
  });

  it('rejects a period that is not a positive finite number', () => {
    const ts = virtualScheduler();
    expect(() => controlClock$(0, ts)).toThrow(/^periodMs must be a finite number > 0, got 0$/);
    expect(() => controlClock$(Number.NaN, ts)).toThrow(/^periodMs must be a finite number > 0, got NaN$/);
  });
});
