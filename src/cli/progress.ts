import { SingleBar } from 'cli-progress';

/** Progress of a long job: a bar with rate and ETA on a terminal, plain lines otherwise. */
export interface Progress {
  /** Advances to `done` (of the total) and shows `status` (short text). */
  update(done: number, status?: string): void;
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
  if (stream.isTTY) {
    const bar = new SingleBar({
      format: `${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted} | {status}`,
      stream,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    });
    const start = performance.now();
    bar.start(total, 0, { status: '', rate: '0' });
    return {
      update(done, status = '') {
        const rate = done / Math.max(1e-9, (performance.now() - start) / 1000);
        bar.update(done, { status, rate: rate < 10 ? rate.toFixed(1) : rate.toFixed(0) });
      },
      stop: () => bar.stop(),
    };
  }
  const every = options.plainEveryMs ?? 5000;
  let last = -Infinity;
  const start = performance.now();
  return {
    update(done, status = '') {
      const now = performance.now();
      if (now - last < every && done < total) return;
      last = now;
      const elapsed = (now - start) / 1000;
      const rate = done / Math.max(1e-9, elapsed);
      const eta = rate > 0 ? (total - done) / rate : Number.NaN;
      stream.write(
        `${label}: ${done}/${total} (${rate.toFixed(1)}/s, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : '?'})${status ? ` ${status}` : ''}\n`,
      );
    },
    stop() {},
  };
}
