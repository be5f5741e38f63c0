import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgress } from './progress.js';

/** The plain (not a terminal) lines createProgress writes, with the clock under the test's control. */
function plainLines(): string[] {
  const lines: string[] = [];
  vi.useFakeTimers({ toFake: ['performance'] });
  // Plain mode whatever runs the tests (isTTY is a plain property, absent on a pipe).
  process.stderr.isTTY = false;
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

const wasTTY = process.stderr.isTTY;

afterEach(() => {
  process.stderr.isTTY = wasTTY;
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('createProgress (plain lines)', () => {
  it('prints the rate and the ETA of the work done', () => {
    const lines = plainLines();
    const progress = createProgress('training', 1000, { plainEveryMs: 0 });
    vi.advanceTimersByTime(10_000);
    progress.update(100, 'eval 20%');
    expect(lines).toEqual(['training: 100/1000 (10.0/s, ETA 90 s) eval 20%\n']);
  });

  it('counts a continued job from where it continued, not from zero', () => {
    const lines = plainLines();
    const progress = createProgress('training', 20_000, { plainEveryMs: 0 });
    vi.advanceTimersByTime(2_000); // loading the checkpoint
    progress.continueFrom(10_000);
    vi.advanceTimersByTime(10_000);
    progress.update(10_500);
    // 500 steps in 10 s; the 10000 of the earlier process are not work done in no time.
    expect(lines).toEqual(['training: 10500/20000 (50.0/s, ETA 190 s)\n']);
  });

  it('prints at most one line per interval, and always the last', () => {
    const lines = plainLines();
    const progress = createProgress('episodes', 3, { plainEveryMs: 5_000 });
    vi.advanceTimersByTime(1_000);
    progress.update(1);
    vi.advanceTimersByTime(1_000);
    progress.update(2);
    vi.advanceTimersByTime(1_000);
    progress.update(3);
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['1/3', '3/3']);
  });
});
