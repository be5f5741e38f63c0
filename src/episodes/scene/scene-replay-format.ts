import { z } from 'zod';

/**
 * An episode replay: what the viewer (`armprior view`, issue #6) needs to show an episode in 3D
 * and its reward over time, compact — the scene's geometry once, then per control step the pose
 * of every body (not video). One JSON file per episode:
 * `<replays dir>/episode-<index, 6 digits>.json`, written atomically (src/episodes/episode-folder.ts).
 *
 * Where replays live: a prior version's evaluation under `priors/<task>/v<N>/replays/`
 * (`bundled` under `priors/<task>/bundled/replays/`), a training run's policy under
 * `runs/<run>/replays/`, `armprior sim --replays <dir>` wherever it is told.
 */

export const SCENE_REPLAY_FORMAT_VERSION = 1;

/** One geom of the scene, in its body's frame (MuJoCo's geom_pos/geom_quat), sizes as MuJoCo's geom_size. */
export const SceneGeomSchema = z.object({
  /** MuJoCo geom type: plane, sphere, capsule, ellipsoid, cylinder, box (meshes are sent as their bounding box). */
  type: z.enum(['plane', 'sphere', 'capsule', 'ellipsoid', 'cylinder', 'box']),
  /** Index into `bodies`. */
  body: z.number().int().nonnegative(),
  /** MuJoCo geom_size (3 values; the meaning depends on the type, as in MuJoCo). */
  size: z.tuple([z.number(), z.number(), z.number()]),
  /** Position in the body frame (m). */
  pos: z.tuple([z.number(), z.number(), z.number()]),
  /** Orientation in the body frame, quaternion (w, x, y, z). */
  quat: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  /** Colour (r, g, b, a in 0…1). */
  rgba: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  /** MuJoCo geom name, where it has one. */
  name: z.string().optional(),
});
export type SceneGeom = z.output<typeof SceneGeomSchema>;

export const SceneReplaySchema = z.object({
  format: z.literal(SCENE_REPLAY_FORMAT_VERSION),
  task: z.string().min(1),
  robot: z.string().min(1),
  /** What acted: `prior:push:v3`, `prior:push:bundled`, `policy:runs/…/policy.onnx`, `random`. */
  actor: z.string().min(1),
  /** Env reset seed of the episode. */
  seed: z.number().int(),
  /** Control period (s): time between frames. */
  ctrlDtSec: z.number().positive(),
  /** Whether the goal was reached at the end of the episode (the env's success). */
  success: z.boolean(),
  /** Sum of the rewards. */
  return: z.number(),
  /** Body names, index = MuJoCo body id (0 = world). Frames give their world poses. */
  bodies: z.array(z.string()),
  geoms: z.array(SceneGeomSchema),
  /** Names of the task's raw reward terms, in the order of each frame's `rewardTerms`. */
  rewardTermNames: z.array(z.string()),
  /**
   * Frame 0 is the state after reset; frame t (t ≥ 1) after step t. Poses are flat:
   * `bodyPos` has 3 × bodies values (world frame, m), `bodyQuat` 4 × bodies (w, x, y, z).
   */
  frames: z
    .array(
      z.object({
        bodyPos: z.array(z.number()),
        bodyQuat: z.array(z.number()),
        /** Reward received on the step into this frame (0 for frame 0). */
        reward: z.number(),
        /** Success at this frame. */
        success: z.boolean(),
        /** Raw reward terms at this frame, `rewardTermNames` order. */
        rewardTerms: z.array(z.number()),
      }),
    )
    .min(1),
});
export type SceneReplay = z.output<typeof SceneReplaySchema>;

/** Replays are numbered episode files (src/episodes/episode-folder.ts) with this extension. */
export const SCENE_REPLAY_EXTENSION = 'json';

/**
 * Decimals kept in a replay's numbers. 5 decimals is 10 µm for positions and 1e-5 for
 * quaternion components and rewards, far below what a viewer can show, and it makes a 50-step
 * episode of the Panda scene roughly half the size it is at full float64 precision.
 */
export const SCENE_REPLAY_DECIMALS = 5;
const SCALE = 10 ** SCENE_REPLAY_DECIMALS;

/** A number as a replay keeps it ({@link SCENE_REPLAY_DECIMALS}). */
export function roundSceneValue(value: number): number {
  // `+ 0` turns -0 into 0, which JSON would write as 0 anyway; keeps tests' toEqual honest.
  return Math.round(value * SCALE) / SCALE + 0;
}

/** The first `count` values, as a replay keeps them. */
export function roundSceneValues(values: ArrayLike<number>, count: number): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = roundSceneValue(values[i]!);
  return out;
}
