import { ArmEnv } from '../sim/env.js';
import { observationLayout } from '../src/contract/controller-contract.js';
import { evaluateController, evaluationSeeds } from '../src/controllers/evaluate.js';
import { bundledReply, createPriorController } from '../src/controllers/priors.js';
import { ControllerSandbox } from '../src/controllers/sandbox/controller-sandbox.js';
import { extractCode } from '../src/prompts/extract.js';

/** Results of `armprior bench sandbox`. */
export interface SandboxBenchResult {
  task: string;
  /**
   * One act() call of a controller that returns a constant: the sandbox's own cost (µs), the
   * round trip to its process included. Limit: median ≤ 50; goal: ≤ 20.
   */
  overheadMicros: { median: number; p99: number };
  /** One act() call of the bundled prior (µs), its own work included. */
  bundledPriorMicros: { median: number; p99: number };
  /** Starting a sandbox process and loading the bundled prior into it (ms). */
  loadMillis: number;
  /** Evaluating a new controller on 20 episodes: env and sandbox creation, 20 × 50 steps, diagnosis (s). */
  evaluate20EpisodesSec: number;
}

export async function runSandboxBench(
  options: { task?: string; calls?: number } = {},
): Promise<SandboxBenchResult> {
  const task = options.task ?? 'push';
  const calls = options.calls ?? 20_000;
  const env = await ArmEnv.create({ task });
  const layout = observationLayout(env.observationFields, env.task.goalFields, env.actionSize);
  const { obs } = env.reset({ seed: 0 });
  const zeros = `[${new Array(env.actionSize).fill(0).join(', ')}]`;
  const time = async (code: string) => {
    const sandbox = await ControllerSandbox.create(code, layout, { dtSec: 0.04, maxSteps: 50 });
    try {
      const samples: number[] = [];
      for (let i = 0; i < calls; i++) {
        const t = process.hrtime.bigint();
        const result = await sandbox.act(
          obs.observation,
          obs.achievedGoal,
          obs.desiredGoal,
          i % 50,
          i % 50 === 0,
        );
        samples.push(Number(process.hrtime.bigint() - t) / 1000);
        if (!result.ok) throw new Error(`bench sandbox: the controller failed: ${result.message}`);
      }
      // The first calls include V8's tier-up inside the isolate; a controller runs for many steps.
      return percentiles(samples.slice(Math.floor(calls / 10)));
    } finally {
      sandbox.dispose();
    }
  };
  const overheadMicros = await time(`export function act() { return ${zeros}; }`);
  const bundled = extractCode(bundledReply(task)).code;
  const bundledPriorMicros = await time(bundled);
  const t0 = performance.now();
  (await ControllerSandbox.create(bundled, layout, { dtSec: 0.04, maxSteps: 50 })).dispose();
  const loadMillis = performance.now() - t0;
  env.close();

  const t1 = performance.now();
  const evalEnv = await ArmEnv.create({ task });
  const controller = await createPriorController(evalEnv, {
    task,
    version: 'bundled',
    code: bundled,
    label: `${task} (bundled)`,
  });
  await evaluateController(evalEnv, controller, evaluationSeeds(20));
  controller.dispose();
  evalEnv.close();
  const evaluate20EpisodesSec = (performance.now() - t1) / 1000;
  return { task, overheadMicros, bundledPriorMicros, loadMillis, evaluate20EpisodesSec };
}

function percentiles(samples: number[]): { median: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)]!,
    p99: sorted[Math.floor(sorted.length * 0.99)]!,
  };
}
