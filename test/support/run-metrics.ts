import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A run's metrics.jsonl without the wall-clock group: what two runs of one seed and config share record for record. */
export function metrics(run: string): Record<string, unknown>[] {
  return readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) =>
      Object.fromEntries(Object.entries(JSON.parse(line)).filter(([k]) => !k.startsWith('time/'))),
    );
}
