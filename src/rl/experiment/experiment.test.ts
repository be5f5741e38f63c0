import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedPrior } from '../../controllers/priors.js';
import { type MetricsRecord, readMetrics, readRunInfo, runFiles } from '../train/run-dir.js';
import { type ExperimentPlan, runExperiment } from './experiment.js';

/** A Reach prior that decides each step from what it sees. */
const reachPrior: ResolvedPrior = {
  task: 'reach',
  version: 1,
  label: 'reach v1',
  code: 'export function act(obs) { return towards(obs.eePosition, obs.desiredGoal); }',
};

/** RLingua on Reach with small networks and a checkpoint every 200 steps: one run takes seconds. */
function smallPlan(dir: string, extra: Partial<ExperimentPlan> = {}): ExperimentPlan {
  return {
    tasks: ['reach'],
    methods: ['prior', 'rlingua'],
    seeds: 1,
    steps: 1000,
    baselineSteps: 3000,
    overrides: {
      logEverySteps: 200,
      evaluation: { everySteps: 500, episodes: 10 },
      checkpoint: { everySteps: 200, keep: 2 },
      td3: { hidden: [32, 32], batchSize: 64 },
    },
    robot: 'panda',
    runsRoot: join(dir, 'runs'),
    outDir: join(dir, 'out'),
    priorFor: () => reachPrior,
    threshold: 0.9,
    heldOutEpisodes: 12,
    heldOutSeed: 5_000_000,
    ...extra,
  };
}

const metricsOf = (runDir: string): MetricsRecord[] =>
  readMetrics(runFiles(runDir).metrics).map(
    (r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('time/'))) as MetricsRecord,
  );

describe('an experiment run again (runs.json)', () => {
  it('continues a stopped run to what an unstopped experiment gives, then reuses it without training', async () => {
    const whole = await runExperiment(smallPlan(mkdtempSync(join(tmpdir(), 'armprior-exp-'))));
    expect(whole.stopped).toBeUndefined();

    const dir = mkdtempSync(join(tmpdir(), 'armprior-exp-'));
    let rounds = 0;
    const stopped = await runExperiment(smallPlan(dir, { shouldStop: () => ++rounds >= 6 }));
    expect(stopped.stopped).toEqual({ runsDone: 0, runsTotal: 1 });
    const [runName] = readdirSync(join(dir, 'runs'));
    const runDir = join(dir, 'runs', runName!);
    expect(readRunInfo(runDir).status).toBe('interrupted');
    const listed = JSON.parse(readFileSync(join(dir, 'out', 'runs.json'), 'utf8'));
    expect(listed.runs['reach/rlingua/0'].runDir).toBe(runDir);

    const notices: string[] = [];
    const continued = await runExperiment(smallPlan(dir, { onNotice: (m) => notices.push(m) }));
    expect(continued.stopped).toBeUndefined();
    expect(notices).toContain(`reach · rlingua · seed 0: continuing ${runDir} from its newest checkpoint`);
    expect(readdirSync(join(dir, 'runs'))).toEqual([runName]);
    const [wholeRun, continuedRun] = [whole.results[1]!, continued.results[1]!];
    expect(metricsOf(continuedRun.runDirs[0]!)).toEqual(metricsOf(wholeRun.runDirs[0]!));
    expect(continuedRun.heldOutSuccess).toEqual(wholeRun.heldOutSuccess);
    expect(continuedRun.againstPrior).toEqual(wholeRun.againstPrior);

    // Once more: nothing trains or is scored again, and the table is the same.
    const table = readFileSync(join(dir, 'out', 'results.md'), 'utf8');
    let progress = 0;
    let heldOut = 0;
    const again = await runExperiment(
      smallPlan(dir, {
        onProgress: () => progress++,
        onHeldOut: (label) => {
          if (label.includes('rlingua')) heldOut++;
        },
      }),
    );
    expect([progress, heldOut]).toEqual([0, 0]);
    expect(again.results[1]).toEqual(continuedRun);
    expect(readFileSync(join(dir, 'out', 'results.md'), 'utf8')).toBe(table);
  });
});

describe('an experiment that only tabulates (reuseOnly: a queue trained its runs)', () => {
  it('refuses a run it would have to train, naming it, and trains nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-exp-'));
    let progress = 0;
    await expect(
      runExperiment(smallPlan(dir, { reuseOnly: true, onProgress: () => progress++ })),
    ).rejects.toThrow(
      `reach · rlingua · seed 0 has no finished run in ${join(dir, 'out', 'runs.json')}: it is not listed`,
    );
    expect(progress).toBe(0);
    expect(readdirSync(dir)).toEqual(['out']);
  });
});
