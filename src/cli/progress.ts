import { SingleBar } from 'cli-progress';

/** Progress of a long job: a bar with rate and ETA on a terminal, plain lines otherwise. */
export interface Progress {
  /** Advances to `done` (of the total) and shows `status` (short text). */
  update(done: number, status?: string): void;
  /**
   * The job continues earlier work that stands at `done` (a resumed training run): the rate and
   * ETA count only what is done from here, not the earlier work as if it took no time.
   */
  continueFrom(done: number): void;
  stop(): void;
}

/**
 * Writes to stderr so that stdout stays clean for results (and for `--json`).
 * Plain mode prints at most one line per `plainEveryMs` (plus the last), so logs stay short.
 */
export function createProgress(
  label: string,
  total: number,
  options: { plainEveryMs?: number } = {},
): Progress {
  const stream = process.stderr;
  // What the rate counts from: this process's own work.
  let from = { done: 0, at: performance.now() };
  const rateOf = (done: number, now: number) => (done - from.done) / Math.max(1e-9, (now - from.at) / 1000);
  if (stream.isTTY) {
    const bar = new SingleBar({
      format: `${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted} | {status}`,
      stream,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    });
    bar.start(total, 0, { status: '', rate: '0' });
    return {
      update(done, status = '') {
        const rate = rateOf(done, performance.now());
        bar.update(done, { status, rate: rate < 10 ? rate.toFixed(1) : rate.toFixed(0) });
      },
      continueFrom(done) {
        from = { done, at: performance.now() };
        // cli-progress's ETA buffer starts again from `done` only on start().
        bar.start(total, done, { status: '', rate: '0' });
      },
      stop: () => bar.stop(),
    };
  }
  const every = options.plainEveryMs ?? 5000;
  let last = -Infinity;
  return {
    update(done, status = '') {
      const now = performance.now();
      if (now - last < every && done < total) return;
      last = now;
      const rate = rateOf(done, now);
      const eta = rate > 0 ? (total - done) / rate : Number.NaN;
      stream.write(
        `${label}: ${done}/${total} (${rate.toFixed(1)}/s, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : '?'})${status ? ` ${status}` : ''}\n`,
      );
    },
    continueFrom(done) {
      from = { done, at: performance.now() };
    },
    stop() {},
  };
}
