import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { armpriorVersion, parseJob, QueueJobError, RunResultSchema } from './queue-jobs.js';

const Job = z.object({ armprior: z.string(), n: z.number() }).strict();

describe('queue jobs', () => {
  it('are refused when another armprior version queued them, naming both versions', () => {
    expect(() => parseJob(Job, { armprior: '0.0.1', n: 1 }, 'run job x')).toThrow(
      `run job x was queued by armprior 0.0.1; this worker is armprior ${armpriorVersion()}: run workers of the version that queued it`,
    );
  });

  it('are refused when they do not fit, naming the field', () => {
    expect(() => parseJob(Job, { armprior: armpriorVersion(), n: 'one' }, 'run job x')).toThrow(
      QueueJobError,
    );
    expect(() => parseJob(Job, { armprior: armpriorVersion(), n: 'one' }, 'run job x')).toThrow(
      /run job x is not an armprior job \(n: /,
    );
    expect(parseJob(Job, { armprior: armpriorVersion(), n: 2 }, 'run job x')).toEqual({
      armprior: armpriorVersion(),
      n: 2,
    });
  });

  it("a run's result is runs.json's entry for it", () => {
    expect(() => RunResultSchema.parse({ key: 'k', runDir: '/r', wallClockSec: -1 })).toThrow();
    expect(RunResultSchema.parse({ key: 'k', runDir: '/r', wallClockSec: 3 })).toEqual({
      key: 'k',
      runDir: '/r',
      wallClockSec: 3,
    });
  });
});
