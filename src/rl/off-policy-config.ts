import { z } from 'zod';

/**
 * Bounds of the network and batch sizes a config can set (issue #17 §4: `hidden: [100000,
 * 100000]` was accepted and crashed in ONNX shape inference). At the largest (4 × 1024, batch
 * 2048) one TD3 run on pick-and-place peaked at 1.4 GB resident; 6 × 2048 with batch 4096 went
 * past 7 GB within minutes.
 */
export const MAX_HIDDEN_WIDTH = 1024;
export const MAX_HIDDEN_LAYERS = 4;
export const MAX_BATCH_SIZE = 2048;
/** Environment steps any step count of a config may name (the `--steps` flag's bound too). */
export const MAX_ENV_STEPS = 1_000_000_000;

/**
 * The hyperparameters TD3 and SAC share, with Stable-Baselines3's names and RL Zoo's panda-gym
 * defaults (HER tasks): each algorithm's schema spreads these and adds its own.
 */
export const offPolicyFields = {
  /** Adam learning rate (of every network the algorithm trains; SB3 uses one for all). */
  learningRate: z.number().positive().max(1).default(1e-3),
  /** Transitions per gradient step. */
  batchSize: z.number().int().positive().max(MAX_BATCH_SIZE).default(256),
  /** Discount factor. */
  gamma: z.number().min(0).max(1).default(0.95),
  /** Soft target update rate: θ' ← τ θ + (1 − τ) θ'. */
  tau: z.number().min(0).max(1).default(0.05),
  /**
   * Hidden layer widths of actor and critics. Three layers, as HER's own Push and PickAndPlace
   * networks (Andrychowicz et al. 2017: 3 × 256): measured on Push, behaviour cloning of an 80%
   * closed-loop prior reached 79% with 3 × 256 and 52% with 2 × 256 given twice the updates
   * (presumably the prior's sharp phase switches, which the third layer fits). About half the
   * updates/s.
   */
  hidden: z
    .array(z.number().int().positive().max(MAX_HIDDEN_WIDTH))
    .min(1)
    .max(MAX_HIDDEN_LAYERS)
    .default([256, 256, 256]),
};
