import { z } from 'zod';

/**
 * The hyperparameters TD3 and SAC share, with Stable-Baselines3's names and RL Zoo's panda-gym
 * defaults (HER tasks): each algorithm's schema spreads these and adds its own.
 */
export const offPolicyFields = {
  /** Adam learning rate (of every network the algorithm trains; SB3 uses one for all). */
  learningRate: z.number().positive().default(1e-3),
  /** Transitions per gradient step. */
  batchSize: z.number().int().positive().default(256),
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
  hidden: z.array(z.number().int().positive()).min(1).default([256, 256, 256]),
};
