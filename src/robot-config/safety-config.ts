import { z } from 'zod';

/**
 * `safety:` in `config/robots/<name>.yaml`: the limits `src/bridge/safety.ts` enforces on every
 * command before it reaches a robot, simulated or real. Joint speed limits are `arm.maxJointVelRadPerSec`
 * and the end-effector box is `control.workspaceMin/Max`, so each limit is written once.
 */
export const RobotSafetySchema = z
  .object({
    /** Joint acceleration limits (rad/s²), one per arm joint; a single number applies to all. */
    maxJointAccRadPerSec2: z
      .union([z.number().positive(), z.array(z.number().positive())])
      .default(15)
      .describe('rad/s²'),
    /**
     * Distance from a joint's limit (MJCF range minus `arm.jointLimitMarginRad`) over which the
     * speed allowed toward the limit falls linearly to zero (rad).
     */
    jointLimitSlowdownRad: z.number().positive().default(0.2),
    /** Look-ahead (s) of the end-effector workspace check: the box is held `lookaheadSec` ahead. */
    workspaceLookaheadSec: z.number().positive().default(0.1),
    /** State older than this (ms) makes the watchdog command zero velocity and hold. */
    maxStateAgeMs: z.number().positive().default(100),
    /**
     * After a lost connection comes back: `resume` goes on commanding (with fresh state only),
     * `stop` ends the run with a safe stop.
     */
    onReconnect: z.enum(['resume', 'stop']).default('stop'),
    /**
     * How long the safe stop waits (ms) for a joint state, measured after the stop command,
     * that shows the arm at rest; without one the stop is reported unconfirmed (a fault).
     */
    stopConfirmTimeoutMs: z.number().int().positive().default(1000),
    /** Joint speed (rad/s) below which a joint counts as at rest when confirming a stop. */
    restJointVelRadPerSec: z.number().positive().default(0.05),
  })
  .strict()
  .prefault({});

export type RobotSafetyConfig = z.output<typeof RobotSafetySchema>;
