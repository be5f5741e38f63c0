import { setTimeout as sleep } from 'node:timers/promises';
import { FlowProducer } from 'bullmq';
import type { Redis } from 'ioredis';

/** Waits until the flow whose parent is job `id` of `queueName` completes; its failure is thrown with `what`. */
export async function waitForFlow(
  connection: Redis,
  prefix: string,
  queueName: string,
  id: string,
  what: string,
): Promise<void> {
  const flows = new FlowProducer({ connection, prefix });
  try {
    for (;;) {
      const tree = await flows.getFlow({ id, queueName, prefix });
      const state = await tree.job.getState();
      if (state === 'failed') throw new Error(`the bench's ${what} failed: ${tree.job.failedReason}`);
      if (state === 'completed') return;
      await sleep(50);
    }
  } finally {
    await flows.close();
  }
}
