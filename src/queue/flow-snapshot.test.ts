import type { FlowProducer, Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { readFlowSnapshot } from './flow-snapshot.js';

/** A job as one read of the queue saw it: its hash fields, and the state a later call reports. */
function job(id: string, state: string, failedReason = ''): Job {
  return { id, data: { id }, failedReason, getState: async () => state } as unknown as Job;
}

/** A FlowProducer whose successive getFlow calls return successive reads of the queue. */
function flowsReading(...reads: { parent: Job; children: Job[] }[]): {
  flows: FlowProducer;
  calls: () => number;
} {
  let calls = 0;
  const flows = {
    getFlow: async () => {
      const read = reads[Math.min(calls++, reads.length - 1)]!;
      return { job: read.parent, children: read.children.map((c) => ({ job: c })) };
    },
  } as unknown as FlowProducer;
  return { flows, calls: () => calls };
}

const ref = { id: 'p', queueName: 'q', prefix: 'x' };

describe('readFlowSnapshot', () => {
  it('a job that failed between reading its hash and its state: the reason is read again, not lost', async () => {
    // First read: the chunk's hash from before it failed; its state already says failed.
    const { flows, calls } = flowsReading(
      { parent: job('p', 'failed'), children: [job('c1', 'completed'), job('c2', 'failed')] },
      {
        parent: job('p', 'failed', 'one chunk failed'),
        children: [job('c1', 'completed'), job('c2', 'failed', 'bad version')],
      },
    );
    const snapshot = (await readFlowSnapshot(flows, ref))!;
    expect(calls()).toBe(2);
    expect(snapshot.state).toBe('failed');
    expect(snapshot.job.failedReason).toBe('one chunk failed');
    expect(snapshot.children.map((c) => [c.job.id, c.state, c.job.failedReason])).toEqual([
      ['c1', 'completed', ''],
      ['c2', 'failed', 'bad version'],
    ]);
  });

  it('reads once while nothing has ended, and answers undefined for a flow the queue does not hold', async () => {
    const running = flowsReading({ parent: job('p', 'waiting-children'), children: [job('c1', 'active')] });
    const snapshot = (await readFlowSnapshot(running.flows, ref))!;
    expect(running.calls()).toBe(1);
    expect(snapshot.children.map((c) => c.state)).toEqual(['active']);
    const none = { getFlow: async () => undefined } as unknown as FlowProducer;
    expect(await readFlowSnapshot(none, ref)).toBeUndefined();
  });
});
