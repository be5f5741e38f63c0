import { z } from 'zod';
import type { Rng } from '../../src/core/rng.js';
import {
  f,
  type Task,
  TaskCommonSchema,
  type TaskContext,
  type TaskDefinition,
  type VectorField,
} from './task.js';

const OpenDrawerSchema = TaskCommonSchema.extend({
  /** Nominal x of the cabinet's front face (task frame, m); the drawer opens toward -x, toward the robot. */
  cabinetFrontXM: z.number().min(-2).max(2).default(0.12),
  /** Cabinet centre y ∈ ±cabinetYRangeM/2 and front x ± cabinetXRangeM/2 at reset. */
  cabinetYRangeM: z.number().min(0).max(2).default(0.2),
  cabinetXRangeM: z.number().min(0).max(2).default(0.04),
  /** How far the drawer can travel (m). */
  drawerTravelM: z.number().positive().max(1).default(0.2),
  /** Target opening ∈ [minOpeningM, maxOpeningM]; success once the drawer is open at least that far. */
  minOpeningM: z.number().positive().max(1).default(0.1),
  maxOpeningM: z.number().positive().max(1).default(0.16),
  /** Viscous damping of the drawer slide (N·s/m) and its dry friction (N). */
  drawerDamping: z.number().min(0).max(1000).default(2),
  drawerFrictionN: z.number().min(0).max(1000).default(0.5),
  rewardScales: z.record(z.string(), z.number().min(-1000).max(1000)).default({ openingShortfall: -1 }),
})
  .strict()
  .refine((c) => c.minOpeningM <= c.maxOpeningM && c.maxOpeningM < c.drawerTravelM, {
    message: 'need minOpeningM ≤ maxOpeningM < drawerTravelM',
  });

type OpenDrawerConfig = z.output<typeof OpenDrawerSchema>;

/** Cabinet body size (half extents, m) and the handle's offset in front of the drawer face. */
const CABINET_HALF = { x: 0.1, y: 0.15, z: 0.07 };
const HANDLE_STANDOFF_M = 0.045;
const HANDLE_HALF_HEIGHT_M = 0.03;

const OBSERVATION_FIELDS: readonly VectorField[] = [
  {
    name: 'handlePosition',
    size: 3,
    unit: 'm',
    description: 'centre of the vertical drawer handle bar, task frame',
  },
  { name: 'drawerOpening', size: 1, unit: 'm', description: 'how far the drawer is pulled out (0 = closed)' },
  { name: 'drawerVelocity', size: 1, unit: 'm/s', description: 'opening speed (positive = opening)' },
];

const GOAL_FIELDS: readonly VectorField[] = [
  { name: 'opening', size: 1, unit: 'm', description: 'how far the drawer is pulled out' },
];

/**
 * Open a drawer: a cabinet on the table whose drawer slides out toward the robot; its handle is
 * a vertical bar that the gripper can grasp from above or hook. Success once the opening reaches
 * the goal (a one-sided goal: opening further is still success).
 */
class OpenDrawer implements Task {
  readonly name = 'open-drawer';
  readonly usesGripper = true;
  readonly observationFields = OBSERVATION_FIELDS;
  readonly goalFields = GOAL_FIELDS;
  private cabinetBody = -1;
  private handleSite = -1;
  private drawerQposAdr = -1;
  private drawerDofAdr = -1;
  private readonly cabinetWorld = new Float64Array(3);

  constructor(readonly config: OpenDrawerConfig) {}

  sceneXml(): string {
    const c = CABINET_HALF;
    const wall = 0.01;
    const travel = this.config.drawerTravelM;
    // The cabinet is a mocap body (fixed in the world, moved at reset) holding the drawer.
    // Its origin is the centre of its front face; -x points toward the robot.
    return `<body name="cabinet" mocap="true" pos="${f(this.config.cabinetFrontXM)} 0 ${f(c.z)}">
      <geom name="cabinet_top" type="box" size="${f(c.x)} ${f(c.y)} ${f(wall / 2)}" pos="${f(c.x)} 0 ${f(c.z - wall / 2)}" rgba="0.55 0.4 0.3 1"/>
      <geom name="cabinet_bottom" type="box" size="${f(c.x)} ${f(c.y)} ${f(wall / 2)}" pos="${f(c.x)} 0 ${f(-c.z + wall / 2)}" rgba="0.55 0.4 0.3 1"/>
      <geom name="cabinet_left" type="box" size="${f(c.x)} ${f(wall / 2)} ${f(c.z)}" pos="${f(c.x)} ${f(c.y - wall / 2)} 0" rgba="0.55 0.4 0.3 1"/>
      <geom name="cabinet_right" type="box" size="${f(c.x)} ${f(wall / 2)} ${f(c.z)}" pos="${f(c.x)} ${f(-c.y + wall / 2)} 0" rgba="0.55 0.4 0.3 1"/>
      <geom name="cabinet_back" type="box" size="${f(wall / 2)} ${f(c.y)} ${f(c.z)}" pos="${f(2 * c.x - wall / 2)} 0 0" rgba="0.55 0.4 0.3 1"/>
      <body name="drawer">
        <joint name="drawer_joint" type="slide" axis="-1 0 0" range="0 ${f(travel)}" damping="${f(this.config.drawerDamping)}"
               frictionloss="${f(this.config.drawerFrictionN)}" armature="0.05"/>
        <geom name="drawer_front" type="box" size="${f(wall / 2)} ${f(c.y - wall - 0.002)} ${f(c.z - wall - 0.002)}" pos="${f(wall / 2)} 0 0" mass="0.5" rgba="0.7 0.55 0.4 1"/>
        <geom name="drawer_floor" type="box" size="${f(c.x - wall)} ${f(c.y - wall - 0.004)} ${f(wall / 2)}" pos="${f(c.x)} 0 ${f(-c.z + 1.5 * wall + 0.002)}" mass="0.3" contype="0" conaffinity="0" rgba="0.7 0.55 0.4 1"/>
        <geom name="handle_post_low" type="box" size="${f(HANDLE_STANDOFF_M / 2)} 0.006 0.006" pos="${f(-HANDLE_STANDOFF_M / 2)} 0 ${f(-HANDLE_HALF_HEIGHT_M + 0.006)}" mass="0.02" rgba="0.2 0.2 0.2 1"/>
        <geom name="handle_post_high" type="box" size="${f(HANDLE_STANDOFF_M / 2)} 0.006 0.006" pos="${f(-HANDLE_STANDOFF_M / 2)} 0 ${f(HANDLE_HALF_HEIGHT_M - 0.006)}" mass="0.02" rgba="0.2 0.2 0.2 1"/>
        <geom name="handle_bar" type="box" size="0.008 0.008 ${f(HANDLE_HALF_HEIGHT_M)}" pos="${f(-HANDLE_STANDOFF_M)} 0 0" mass="0.05" friction="1.5 0.05 0.001" condim="4" rgba="0.2 0.2 0.2 1"/>
        <site name="handle" pos="${f(-HANDLE_STANDOFF_M)} 0 0" size="0.01" rgba="1 1 0 0.5"/>
      </body>
    </body>
    <body name="target" mocap="true" pos="0 0 -1">
      <geom type="box" size="0.002 ${f(CABINET_HALF.y)} ${f(CABINET_HALF.z)}" contype="0" conaffinity="0" rgba="0.1 0.9 0.1 0.25"/>
    </body>`;
  }

  bind(ctx: TaskContext): void {
    const where = `task '${this.name}'`;
    this.cabinetBody = (ctx.sim.model.body_mocapid as Int32Array)[ctx.sim.id('body', 'cabinet', where)]!;
    this.handleSite = ctx.sim.id('site', 'handle', where);
    const joint = ctx.sim.id('joint', 'drawer_joint', where);
    this.drawerQposAdr = (ctx.sim.model.jnt_qposadr as Int32Array)[joint]!;
    this.drawerDofAdr = (ctx.sim.model.jnt_dofadr as Int32Array)[joint]!;
    this.targetMocap = (ctx.sim.model.body_mocapid as Int32Array)[ctx.sim.id('body', 'target', where)]!;
  }

  private targetMocap = -1;

  reset(ctx: TaskContext, rng: Rng, goal: Float64Array): void {
    const cfg = this.config;
    goal[0] = rng.uniform(cfg.minOpeningM, cfg.maxOpeningM);
    const front = cfg.cabinetFrontXM + rng.uniform(-cfg.cabinetXRangeM / 2, cfg.cabinetXRangeM / 2);
    const y = rng.uniform(-cfg.cabinetYRangeM / 2, cfg.cabinetYRangeM / 2);
    ctx.arm.toWorld([front, y, CABINET_HALF.z], this.cabinetWorld, 0);
    ctx.sim.mocapPos.set(this.cabinetWorld, 3 * this.cabinetBody);
    // The goal marker shows where the drawer front must reach.
    ctx.arm.toWorld([front - goal[0]!, y, CABINET_HALF.z], this.cabinetWorld, 0);
    ctx.sim.mocapPos.set(this.cabinetWorld, 3 * this.targetMocap);
    ctx.sim.qpos[this.drawerQposAdr] = 0;
    ctx.sim.qvel[this.drawerDofAdr] = 0;
  }

  observe(ctx: TaskContext, out: Float64Array, offset: number): void {
    const s = 3 * this.handleSite;
    const xpos = ctx.sim.siteXpos;
    const base = ctx.arm.robot.basePos;
    out[offset] = xpos[s]! + base[0];
    out[offset + 1] = xpos[s + 1]! + base[1];
    out[offset + 2] = xpos[s + 2]! + base[2];
    out[offset + 3] = ctx.sim.qpos[this.drawerQposAdr]!;
    out[offset + 4] = ctx.sim.qvel[this.drawerDofAdr]!;
  }

  achievedGoal(ctx: TaskContext, out: Float64Array): void {
    out[0] = ctx.sim.qpos[this.drawerQposAdr]!;
  }

  rewardTerms(achieved: ArrayLike<number>, desired: ArrayLike<number>): Record<string, number> {
    return { openingShortfall: Math.max(0, desired[0]! - achieved[0]!) };
  }

  isSuccess(achieved: ArrayLike<number>, desired: ArrayLike<number>): boolean {
    return achieved[0]! >= desired[0]!;
  }
}

export const openDrawerTask: TaskDefinition<typeof OpenDrawerSchema> = {
  name: 'open-drawer',
  description: 'pull a drawer open by its handle to at least a goal opening',
  schema: OpenDrawerSchema,
  create: (config) => new OpenDrawer(config),
};
