import type { FlowProducer, Job } from 'bullmq';

/** A job of a flow with the state it was seen in; its fields are at least as new as that state. */
export interface JobInState {
  job: Job;
  state: string;
}

export interface FlowSnapshot extends JobInState {
  children: JobInState[];
}

/** Completed and failed are the states a job of ours never leaves. */
const FINAL_STATES = new Set(['completed', 'failed']);

/**
 * Reads a flow (a parent job and its children) with each job's state.
 *
 * BullMQ reads a job's hash and its state in separate calls: a job that fails or completes
 * between the two shows its new state with the old hash (no failedReason, no return value),
 * so a follower would report "failed: no reason given" or a completion with no result. BullMQ
 * writes the reason or result in the same script that moves the job to its final state, so
 * when a final state is seen the flow is read once more and the jobs taken from that read.
 */
export async function readFlowSnapshot(
  flows: FlowProducer,
  ref: { id: string; queueName: string; prefix: string },
): Promise<FlowSnapshot | undefined> {
  const first = await flows.getFlow(ref);
  if (!first?.job?.data) return undefined;
  const children = (first.children ?? []).map((child) => child.job);
  const states = await Promise.all([first.job, ...children].map((job) => job.getState()));
  let jobs = [first.job, ...children];
  if (states.some((state) => FINAL_STATES.has(state))) {
    const again = await flows.getFlow(ref);
    if (again?.job?.data) {
      const byId = new Map([again.job, ...(again.children ?? []).map((c) => c.job)].map((j) => [j.id, j]));
      jobs = jobs.map((job) => byId.get(job.id) ?? job);
    }
  }
  return {
    job: jobs[0]!,
    state: states[0]!,
    children: jobs.slice(1).map((job, k) => ({ job, state: states[k + 1]! })),
  };
}
