import { join } from 'node:path';
import { SceneReplaySink } from '../../episodes/scene/scene-replay-sink.js';
import { type BestEvaluation, BestPolicyKeeper, evaluationMetadata } from './best-policy.js';
import { evaluatePolicy, type PolicyEvaluation } from './policy-evaluation.js';
import { encodePolicy } from './policy-file.js';
import type { TrainingRun } from './run-setup.js';
import type { TrainConfig } from './train-config.js';

/**
 * Evaluations of the deterministic policy (the averaged one with policyAveraging) every
 * evaluation.everySteps and at the last step. Each is logged to metrics.jsonl and may become
 * `<run>/best-policy.onnx`; the final one's episodes are kept as replays in `<run>/replays`, for
 * the viewer.
 */
export class EvaluationSchedule {
  private readonly bestPolicy: BestPolicyKeeper;

  constructor(
    private readonly run: TrainingRun,
    private readonly config: TrainConfig,
    onNotice?: ((message: string) => void) | undefined,
  ) {
    this.bestPolicy = BestPolicyKeeper.open(run.files.bestPolicy, onNotice);
  }

  /** The evaluation that chose `<run>/best-policy.onnx`, over the whole run. */
  get best(): BestEvaluation | undefined {
    return this.bestPolicy.current;
  }

  /** After a round: the scheduled evaluation when due, and the final one once training is `finished`. */
  async afterRound(finished: boolean): Promise<void> {
    const { state } = this.run.parts;
    if (state.envSteps >= state.nextEval) {
      await this.evaluate(finished);
      while (state.nextEval <= state.envSteps) state.nextEval += this.config.evaluation.everySteps;
    }
    if (finished && state.lastEvalStep !== state.envSteps) await this.evaluate(true);
  }

  /** The run's last evaluation; made now if there is none (a run resumed after its last step). */
  async last(): Promise<PolicyEvaluation> {
    return this.run.parts.state.lastEval ?? (await this.evaluate(true));
  }

  private async evaluate(final: boolean): Promise<PolicyEvaluation> {
    const { evalEnv, parts, dir } = this.run;
    const { state, average, learner, normalizer } = parts;
    const recorder = final
      ? new SceneReplaySink(evalEnv, {
          actor: `policy:${this.config.algo} after ${state.envSteps} steps`,
          dir: join(dir, 'replays'),
        })
      : undefined;
    const evaluation = await evaluatePolicy(evalEnv, average.policy(learner), normalizer, {
      ...this.config.evaluation,
      recorder,
    });
    state.lastEval = evaluation;
    state.lastEvalStep = state.envSteps;
    this.record(evaluation);
    return evaluation;
  }

  /** Into metrics.jsonl, and into best-policy.onnx when it beats the best so far. */
  private record(evaluation: PolicyEvaluation): void {
    const { metrics, parts, policyMetadata } = this.run;
    const { state, average, learner, normalizer } = parts;
    metrics.append({
      kind: 'eval',
      step: state.envSteps,
      'eval/success_rate': evaluation.successRate,
      'eval/mean_return': evaluation.meanReturn,
      'eval/episodes': evaluation.episodes,
      // How many policies the evaluated mean holds (0: the learner's own policy was evaluated).
      ...(this.config.policyAveraging.enabled ? { 'eval/policies_averaged': average.size } : {}),
    });
    const { successRate, meanReturn, episodes } = evaluation;
    this.bestPolicy.consider({ step: state.envSteps, successRate, meanReturn, episodes }, (chosen) =>
      encodePolicy(average.policy(learner), normalizer, policyMetadata, evaluationMetadata(chosen)),
    );
  }
}
