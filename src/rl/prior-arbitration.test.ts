import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.js';
import {
  type ArbitratedPrior,
  type ArbitrationConfig,
  type ArbitrationRound,
  type CollectionPhase,
  PriorArbitration,
} from './prior-arbitration.js';

const sizes = { observation: 2, goal: 1, action: 2 };
const NUM_ENVS = 2;
const CONSTANT = { initial: 0.5, final: 0.5, decaySteps: 0 };

/** A prior that answers `answer`, gives up from step `abortAtStep` on, and may keep memory. */
class ScriptedPrior implements ArbitratedPrior {
  calls = 0;
  resets = 0;
  memory = false;
  private step = 0;
  private abort: string | undefined;

  constructor(
    private readonly answer: readonly number[] = [0.25, -0.5],
    private readonly abortAtStep = Number.POSITIVE_INFINITY,
  ) {}

  reset(): void {
    this.step = 0;
    this.abort = undefined;
    this.resets++;
  }

  async act(): Promise<Float64Array> {
    this.calls++;
    if (this.step++ >= this.abortAtStep) this.abort = 'kept failing';
    return Float64Array.from(this.answer);
  }

  abortReason(): string | undefined {
    return this.abort;
  }

  keepsMemory(): boolean {
    return this.memory;
  }
}

function arbitration(
  options: {
    priors?: ArbitratedPrior[];
    numEnvs?: number;
    config?: Partial<ArbitrationConfig>;
    imitation?: boolean;
    memory?: { priorKeepsMemory?: boolean };
    notices?: string[];
  } = {},
) {
  const numEnvs = options.numEnvs ?? NUM_ENVS;
  return new PriorArbitration({
    priors: options.priors ?? Array.from({ length: numEnvs }, () => new ScriptedPrior()),
    numEnvs,
    sizes,
    episodeSteps: 10,
    config: {
      priorActionProbability: CONSTANT,
      priorActing: 'episode',
      labelPolicySteps: false,
      ...options.config,
    },
    imitation: options.imitation ?? false,
    memory: options.memory ?? {},
    onNotice: (message) => options.notices?.push(message),
  });
}

const obs = (numEnvs = NUM_ENVS) => ({
  observation: new Float64Array(numEnvs * sizes.observation),
  achievedGoal: new Float64Array(numEnvs * sizes.goal),
  desiredGoal: new Float64Array(numEnvs * sizes.goal),
});
const allActive = (numEnvs = NUM_ENVS) => new Uint8Array(numEnvs).fill(1);
/** The policy's action in every env: distinct from every prior answer used here. */
const policy = (numEnvs = NUM_ENVS) => new Float32Array(numEnvs * sizes.action).fill(0.125);
const step = (round: ArbitrationRound, rng: Rng, numEnvs = NUM_ENVS) =>
  round.step(obs(numEnvs), allActive(numEnvs), policy(numEnvs), rng);

describe('prior arbitration', () => {
  it('precollecting: the prior acts at every step, clipped to [-1, 1], its own answer the label, nothing drawn', async () => {
    const priors = [new ScriptedPrior([2, -0.5]), new ScriptedPrior([-3, 0.75])];
    const rng = Rng.fromSeed(1);
    const before = rng.getState();
    const round = arbitration({ priors }).beginRound('precollect', 5000, rng);
    const out = await step(round, rng);
    expect([...out.actions]).toEqual([1, -0.5, -1, 0.75]);
    expect([...out.priorActed]).toEqual([1, 1]);
    expect(out.labels.map((label) => label && [...label])).toEqual([
      [2, -0.5],
      [-3, 0.75],
    ]);
    expect(rng.getState()).toEqual(before);
    expect(priors.map((p) => p.resets)).toEqual([1, 1]);
    expect(round.metrics()).toEqual({
      'rollout/prior_action_probability': 1,
      'rollout/policy_steps_labelled': undefined,
    });
  });

  it('training: the probability follows rlingua.priorActionProbability over env steps', () => {
    const decaying = arbitration({
      config: { priorActionProbability: { initial: 1, final: 0, decaySteps: 1000 } },
    });
    const at = (envSteps: number) => decaying.beginRound('train', envSteps, Rng.fromSeed(0)).probability;
    expect([at(0), at(250), at(1000), at(5000)]).toEqual([1, 0.75, 0, 0]);
  });

  it("priorActing 'episode': the prior drives an env's whole episode or none of it, drawn at the round's start", async () => {
    const rng = Rng.fromSeed(2);
    let drivenEpisodes = 0;
    for (let r = 0; r < 20; r++) {
      const round = arbitration({ numEnvs: 10 }).beginRound('train', 0, rng);
      const drawn = rng.getState();
      const acted: Uint8Array[] = [];
      for (let t = 0; t < 5; t++) acted.push((await step(round, rng, 10)).priorActed);
      expect(rng.getState()).toEqual(drawn);
      for (const later of acted.slice(1)) expect([...later]).toEqual([...acted[0]!]);
      drivenEpisodes += acted[0]!.reduce((n, x) => n + x, 0);
    }
    expect(drivenEpisodes / 200).toBeGreaterThan(0.35);
    expect(drivenEpisodes / 200).toBeLessThan(0.65);
  });

  it("priorActing 'rollIn': a drawn episode starts with the prior and is handed to the policy for good after 1 … 9 steps", async () => {
    const rng = Rng.fromSeed(4);
    const handOvers = new Set<number>();
    let drawn = 0;
    for (let r = 0; r < 30; r++) {
      const round = arbitration({ config: { priorActing: 'rollIn' }, numEnvs: 4 }).beginRound(
        'train',
        0,
        rng,
      );
      const acted: number[][] = [];
      for (let t = 0; t < 10; t++) acted.push([...(await step(round, rng, 4)).priorActed]);
      for (let i = 0; i < 4; i++) {
        const column = acted.map((row) => row[i]!);
        const h = column.indexOf(0) === -1 ? 10 : column.indexOf(0);
        // The prior's steps come first, then only the policy's.
        expect(column).toEqual(column.map((_, t) => (t < h ? 1 : 0)));
        if (h > 0) {
          drawn++;
          handOvers.add(h);
        }
      }
    }
    expect(drawn / 120).toBeGreaterThan(0.35); // the probability (0.5) still picks the episodes
    expect(drawn / 120).toBeLessThan(0.65);
    expect(Math.min(...handOvers)).toBe(1);
    expect(Math.max(...handOvers)).toBe(9);
    // Precollection's episodes stay whole demonstrations.
    const precollect = arbitration({ config: { priorActing: 'rollIn' } }).beginRound('precollect', 0, rng);
    for (let t = 0; t < 10; t++) expect([...(await step(precollect, rng)).priorActed]).toEqual([1, 1]);
  });

  it("priorActing 'takeOver': the policy starts a drawn episode and the prior, started afresh, finishes it from step 1 … 5", async () => {
    const rng = Rng.fromSeed(5);
    const takeOvers = new Set<number>();
    let drawn = 0;
    for (let r = 0; r < 30; r++) {
      const priors = Array.from({ length: 4 }, () => new ScriptedPrior());
      const round = arbitration({ priors, config: { priorActing: 'takeOver' }, numEnvs: 4 }).beginRound(
        'train',
        0,
        rng,
      );
      const resetsAtStart = priors.map((p) => p.resets);
      const acted: number[][] = [];
      const labelled: boolean[][] = [];
      const callsBefore: number[][] = [];
      for (let t = 0; t < 10; t++) {
        callsBefore.push(priors.map((p) => p.calls));
        const out = await step(round, rng, 4);
        acted.push([...out.priorActed]);
        labelled.push(out.labels.map((label) => label !== undefined));
      }
      for (let i = 0; i < 4; i++) {
        const column = acted.map((row) => row[i]!);
        const h = column.indexOf(1);
        if (h === -1) {
          // The policy's episode throughout: the prior was never asked.
          expect(priors[i]!.calls).toBe(0);
          continue;
        }
        // The policy's steps first, then only the prior's, each its label.
        expect(column).toEqual(column.map((_, t) => (t < h ? 0 : 1)));
        expect(labelled.map((row) => row[i])).toEqual(column.map((x) => x === 1));
        // Not asked before it takes over, and reset once then, so it plans from that state.
        expect(callsBefore[h]![i]).toBe(0);
        expect(priors[i]!.resets - resetsAtStart[i]!).toBe(1);
        drawn++;
        takeOvers.add(h);
      }
    }
    expect(drawn / 120).toBeGreaterThan(0.35); // the probability (0.5) still picks the episodes
    expect(drawn / 120).toBeLessThan(0.65);
    expect(Math.min(...takeOvers)).toBe(1);
    expect(Math.max(...takeOvers)).toBe(5);
    // Precollection's episodes stay whole demonstrations.
    const precollect = arbitration({ config: { priorActing: 'takeOver' } }).beginRound('precollect', 0, rng);
    for (let t = 0; t < 10; t++) expect([...(await step(precollect, rng)).priorActed]).toEqual([1, 1]);
  });

  it("priorActing 'step': a new draw for every env and step", async () => {
    const rng = Rng.fromSeed(3);
    const round = arbitration({ config: { priorActing: 'step' }, numEnvs: 4 }).beginRound('train', 0, rng);
    const acted: number[][] = [];
    for (let t = 0; t < 200; t++) acted.push([...(await step(round, rng, 4)).priorActed]);
    const share = acted.flat().reduce((n, x) => n + x, 0) / (200 * 4);
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6);
    // Within one episode, env 0 is driven by both.
    expect(new Set(acted.map((envs) => envs[0]))).toEqual(new Set([0, 1]));
  });

  it('executes the policy’s action where the prior does not act, and asks no prior at probability 0 without labels', async () => {
    const priors = [new ScriptedPrior(), new ScriptedPrior()];
    const never = { priorActionProbability: { initial: 0, final: 0, decaySteps: 0 } };
    const round = arbitration({ priors, config: never }).beginRound('train', 0, Rng.fromSeed(4));
    const out = await step(round, Rng.fromSeed(4));
    expect([...out.actions]).toEqual([0.125, 0.125, 0.125, 0.125]);
    expect([...out.priorActed]).toEqual([0, 0]);
    expect(out.labels).toEqual([undefined, undefined]);
    expect(priors.map((p) => p.calls)).toEqual([0, 0]);
  });

  it('a prior that gives up hands its episode to the policy: counted once, not asked again until the next round', async () => {
    const priors = [new ScriptedPrior([0.5, 0.5], 2), new ScriptedPrior([0.5, 0.5])];
    const rng = Rng.fromSeed(5);
    const arbiter = arbitration({ priors, config: { labelPolicySteps: true }, imitation: true });
    const round = arbiter.beginRound('precollect', 0, rng);
    const steps = [];
    for (let t = 0; t < 4; t++) steps.push(await step(round, rng));
    expect(steps.map((s) => s.abortedEpisodes)).toEqual([0, 0, 1, 0]);
    expect(steps.map((s) => s.priorActed[0])).toEqual([1, 1, 0, 0]);
    expect(steps.map((s) => s.actions[0])).toEqual([0.5, 0.5, 0.125, 0.125]);
    // No label from a prior that gave up, even where policy steps are labelled.
    expect(steps.map((s) => s.labels[0] !== undefined)).toEqual([true, true, false, false]);
    expect(priors[0]!.calls).toBe(3);
    expect(steps.every((s) => s.priorActed[1] === 1)).toBe(true);
    await step(arbiter.beginRound('precollect', 0, rng), rng);
    expect(priors[0]!.calls).toBe(4);
  });

  it('asks only the priors of envs whose episode goes on', async () => {
    const priors = [new ScriptedPrior(), new ScriptedPrior()];
    const rng = Rng.fromSeed(6);
    const round = arbitration({ priors }).beginRound('precollect', 0, rng);
    const out = await round.step(obs(), Uint8Array.from([0, 1]), policy(), rng);
    expect(priors.map((p) => p.calls)).toEqual([0, 1]);
    expect([...out.priorActed]).toEqual([0, 1]);
  });

  it('labelPolicySteps true: the prior is asked on the policy’s steps too and its answers are labels', async () => {
    const priors = [new ScriptedPrior([0.5, 0.5]), new ScriptedPrior([0.5, 0.5])];
    const never = { initial: 0, final: 0, decaySteps: 0 };
    const arbiter = arbitration({
      priors,
      config: { priorActionProbability: never, labelPolicySteps: true },
      imitation: true,
    });
    const round = arbiter.beginRound('train', 0, Rng.fromSeed(7));
    const out = await step(round, Rng.fromSeed(7));
    expect([...out.priorActed]).toEqual([0, 0]);
    expect([...out.actions]).toEqual([0.125, 0.125, 0.125, 0.125]);
    expect(out.labels.map((label) => label && [...label])).toEqual([
      [0.5, 0.5],
      [0.5, 0.5],
    ]);
    expect(round.metrics()['rollout/policy_steps_labelled']).toBe(1);
  });

  it('labelPolicySteps auto: labels while the prior keeps no memory, stops for good once it does, and says which', async () => {
    const priors = [new ScriptedPrior(), new ScriptedPrior()];
    const memory: { priorKeepsMemory?: boolean } = {};
    const notices: string[] = [];
    const arbiter = arbitration({
      priors,
      config: { labelPolicySteps: 'auto' },
      imitation: true,
      memory,
      notices,
    });
    const labelled = (phase: CollectionPhase) =>
      arbiter.beginRound(phase, 0, Rng.fromSeed(8)).metrics()['rollout/policy_steps_labelled'];
    expect(labelled('precollect')).toBeUndefined();
    expect(notices).toEqual([]);
    expect([labelled('train'), labelled('train')]).toEqual([1, 1]);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/keeps nothing in ctx.memory/);
    priors[1]!.memory = true;
    expect(labelled('train')).toBe(0);
    expect(memory.priorKeepsMemory).toBe(true);
    expect(notices).toHaveLength(2);
    expect(notices[1]).toMatch(/keeps a plan in ctx.memory/);
    priors[1]!.memory = false;
    expect(labelled('train')).toBe(0);
    // A resumed run keeps the finding: a fresh arbitration over the same memory labels nothing.
    const resumed = arbitration({ config: { labelPolicySteps: 'auto' }, imitation: true, memory });
    expect(resumed.beginRound('train', 0, Rng.fromSeed(8)).metrics()['rollout/policy_steps_labelled']).toBe(
      0,
    );
  });

  it('without priors: the policy acts, nothing is drawn, no label metric', async () => {
    const rng = Rng.fromSeed(9);
    const before = rng.getState();
    const round = arbitration({ priors: [], config: { priorActing: 'step' }, imitation: true }).beginRound(
      'train',
      0,
      rng,
    );
    const out = await step(round, rng);
    expect([...out.actions]).toEqual([0.125, 0.125, 0.125, 0.125]);
    expect(out.labels).toEqual([undefined, undefined]);
    expect(rng.getState()).toEqual(before);
    expect(round.metrics()).toEqual({
      'rollout/prior_action_probability': 0.5,
      'rollout/policy_steps_labelled': undefined,
    });
  });
});
