import type { Rng } from '../../src/core/rng.js';
import { DampedLeastSquaresIk } from '../ik.js';
import type { Simulation } from '../mujoco/simulation.js';
import type { ArmSurvey } from './arm-survey.js';
import { isAncestorOrSelf, type ModelView } from './model-view.js';
import { type TipFrame, tipInWorld } from './tip-geometry.js';
import { cross, dot, norm, sub, type Vec3 } from './vec3.js';

/**
 * Postures for `robot init`: arm joints that put the tip frame's point at a target with its
 * approach axis pointing straight down (the tasks keep the home orientation all episode, and
 * grasp and push from above). Solved by damped least squares on MuJoCo's Jacobian of the tip
 * point. The home posture is searched from several starts; of those that reach, the one furthest
 * from its joints' limits wins, so the tasks have room to move every way from it.
 */
export interface Posture {
  qpos: number[];
  positionErrorM: number;
  angleDeg: number;
}

/** Kept clear of each limit beyond the config's margin, so the home is not pressed against it (rad or m). */
const LIMIT_CLEARANCE = 0.05;
const ITERATIONS = 400;
const RANDOM_STARTS = 12;
/** Gain of the pull toward the middle of the joint ranges, in the task's null space. */
const NULL_GAIN = 0.1;
/** The largest joint move per iteration (rad or m): keeps the linearisation honest far from the goal. */
const MAX_STEP = 0.2;
const DOWN: Vec3 = [0, 0, -1];
/** How close a posture must come: the home exactly, other points as the reach check counts them. */
export const HOME_TOLERANCE = { positionM: 5e-4, angleDeg: 0.5 } as const;
export const REACH_TOLERANCE = { positionM: 5e-3, angleDeg: 5 } as const;

export class PostureSolver {
  private readonly n: number;
  private readonly low: number[];
  private readonly high: number[];
  private readonly mid: number[];
  private readonly ik: DampedLeastSquaresIk;
  private readonly dofs: Int32Array;
  private readonly error = new Float64Array(6);
  private readonly dq: Float64Array;
  private readonly pull: Float64Array;

  constructor(
    private readonly sim: Simulation,
    private readonly view: ModelView,
    private readonly survey: ArmSurvey,
    private readonly tip: TipFrame,
    /** Lowest height (world z) any arm body may take: the table top. */
    private readonly floorZ: number,
  ) {
    const n = survey.joints.length;
    this.n = n;
    const ranges = survey.joints.map((j) => jointRange(view, j));
    // A range narrower than twice the clearance keeps its centre only.
    this.low = ranges.map(([l, h]) => Math.min(l + LIMIT_CLEARANCE, centre(l, h)));
    this.high = ranges.map(([l, h]) => Math.max(h - LIMIT_CLEARANCE, centre(l, h)));
    this.mid = ranges.map(([l, h]) => centre(l, h));
    this.ik = new DampedLeastSquaresIk(n);
    this.dofs = Int32Array.from(survey.joints, (j) => view.jointDofAdr[j]!);
    this.dq = new Float64Array(n);
    this.pull = new Float64Array(n);
  }

  /** The home posture for `target` (world frame), searched from qpos0, mid-range and random starts. */
  home(target: Vec3, rng: Rng): Posture | undefined {
    const qpos0 = this.survey.joints.map((j) => this.sim.model.qpos0[this.view.jointQposAdr[j]!]!);
    const starts = [qpos0, this.mid];
    for (let k = 0; k < RANDOM_STARTS; k++)
      starts.push(
        this.low.map((l, i) => rng.uniform(Math.max(l, -Math.PI), Math.min(this.high[i]!, Math.PI))),
      );
    let best: (Posture & { clearance: number }) | undefined;
    for (const start of starts) {
      const reached = this.solve(target, start, HOME_TOLERANCE);
      if (!reached) continue;
      const clearance = Math.min(...reached.qpos.map((x, i) => clearanceOf(x, this.low[i]!, this.high[i]!)));
      if (!best || clearance > best.clearance) best = { ...reached, clearance };
    }
    if (!best) return undefined;
    return { qpos: best.qpos, positionErrorM: best.positionErrorM, angleDeg: best.angleDeg };
  }

  /**
   * The posture reaching `target` from `start`, or undefined. All iterations run, not only until
   * the tip arrives: once it has, the null-space pull keeps moving the redundant joints toward
   * the middle of their ranges without moving the tip.
   */
  solve(
    target: Vec3,
    start: readonly number[],
    tolerance: { positionM: number; angleDeg: number },
  ): Posture | undefined {
    const { sim, n } = this;
    const q = start.map((x, i) => clamp(x, this.low[i]!, this.high[i]!));
    let reached: Posture | undefined;
    for (let it = 0; it <= ITERATIONS; it++) {
      setArm(sim, this.view, this.survey, q);
      const { point, axis } = tipInWorld(sim, this.tip);
      const miss = sub(target, point);
      const turn = cross(axis, DOWN);
      const angleDeg = (Math.atan2(norm(turn), dot(axis, DOWN)) * 180) / Math.PI;
      reached =
        norm(miss) < tolerance.positionM && angleDeg < tolerance.angleDeg
          ? { qpos: [...q], positionErrorM: norm(miss), angleDeg }
          : undefined;
      if (it === ITERATIONS) break;
      this.error.set([...miss, ...turn]);
      sim.mj.mj_jac(sim.model, sim.data, sim.jacpBuffer, sim.jacrBuffer, point, this.tip.body);
      sim.ensureViews();
      this.ik.setJacobian(sim.jacp, sim.jacr, sim.model.nv, this.dofs, 1);
      for (let i = 0; i < n; i++) this.pull[i] = NULL_GAIN * (this.mid[i]! - q[i]!);
      this.ik.solve(this.error, 0.02, this.pull, this.dq);
      const largest = Math.max(...this.dq.map(Math.abs));
      const shrink = largest > MAX_STEP ? MAX_STEP / largest : 1;
      for (let i = 0; i < n; i++) q[i] = clamp(q[i]! + shrink * this.dq[i]!, this.low[i]!, this.high[i]!);
    }
    return reached && this.clearOfTable() ? reached : undefined;
  }

  /** Every arm body past the base stays above the table top (an elbow under the table is no posture). */
  private clearOfTable(): boolean {
    const xpos = this.sim.data.xpos as Float64Array;
    const root = this.survey.rootBody;
    for (let b = 1; b < this.view.nbody; b++) {
      if (b === root || !isAncestorOrSelf(this.view, root, b)) continue;
      if (xpos[3 * b + 2]! < this.floorZ) return false;
    }
    return true;
  }
}

/** Puts the arm at `q` (fingers open, everything else at the model's qpos0) and runs the kinematics. */
export function setArm(sim: Simulation, view: ModelView, survey: ArmSurvey, q: readonly number[]): void {
  sim.resetData();
  sim.ensureViews();
  survey.joints.forEach((j, i) => {
    sim.qpos[view.jointQposAdr[j]!] = q[i]!;
  });
  for (const j of survey.fingers?.joints ?? []) sim.qpos[view.jointQposAdr[j]!] = survey.fingers!.openCtrl;
  sim.forward();
}

/** The joint's range, ±∞ when unlimited. */
function jointRange(view: ModelView, joint: number): [number, number] {
  if (view.jointLimited[joint] !== 1) return [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  return [view.jointRange[2 * joint]!, view.jointRange[2 * joint + 1]!];
}

function centre(low: number, high: number): number {
  return Number.isFinite(low) && Number.isFinite(high) ? (low + high) / 2 : 0;
}

/** Distance to the nearer limit as a share of the range (1 for an unlimited joint). */
function clearanceOf(x: number, low: number, high: number): number {
  if (!Number.isFinite(low) || !Number.isFinite(high)) return 1;
  return Math.min(x - low, high - x) / (high - low);
}

function clamp(x: number, low: number, high: number): number {
  return x < low ? low : Math.min(x, high);
}
