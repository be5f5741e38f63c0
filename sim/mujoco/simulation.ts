import type { DoubleBuffer, MjData, MjModel } from 'mujoco-js';
import { ModelMismatchError } from '../../src/core/errors.js';
import type { Mujoco } from './module.js';

/** MuJoCo object kinds looked up by name. */
export type ObjectKind = 'body' | 'joint' | 'site' | 'actuator' | 'geom';

/** Warnings that mean the state is no longer trustworthy (MuJoCo resets the data after BADQACC). */
const UNSTABLE_WARNINGS = [
  'mjWARN_BADQPOS',
  'mjWARN_BADQVEL',
  'mjWARN_BADQACC',
  'mjWARN_CONTACTFULL',
  'mjWARN_CNSTRFULL',
] as const;

/**
 * One compiled model and its data, with cached typed-array views of the fields the env reads
 * every step.
 *
 * Why cache: each mujoco-js field getter (`data.qpos`) builds a new view (~180 ns), which would
 * cost more than the env's own logic. The views go stale (length 0, detached buffer) when wasm
 * memory grows, e.g. when another model is created in the same thread, so every public entry
 * point of the env calls {@link Simulation.ensureViews} first.
 *
 * Owns the model and data: {@link Simulation.dispose} frees them (mujoco-js objects are never
 * garbage collected).
 */
export class Simulation {
  readonly mj: Mujoco;
  readonly model: MjModel;
  readonly data: MjData;
  qpos!: Float64Array;
  qvel!: Float64Array;
  ctrl!: Float64Array;
  siteXpos!: Float64Array;
  siteXmat!: Float64Array;
  xpos!: Float64Array;
  xquat!: Float64Array;
  mocapPos!: Float64Array;
  /** Jacobian buffers for mj_jacSite (it writes only into mujoco-js DoubleBuffers, never plain arrays). */
  readonly jacpBuffer: DoubleBuffer;
  readonly jacrBuffer: DoubleBuffer;
  jacp!: Float64Array;
  jacr!: Float64Array;
  private readonly warningIndices: number[];
  private disposed = false;

  constructor(mj: Mujoco, model: MjModel) {
    this.mj = mj;
    this.model = model;
    this.data = new mj.MjData(model);
    this.jacpBuffer = new mj.DoubleBuffer(3 * model.nv);
    this.jacrBuffer = new mj.DoubleBuffer(3 * model.nv);
    const warnings = mj.mjtWarning as unknown as Record<string, { value: number }>;
    this.warningIndices = UNSTABLE_WARNINGS.map((name) => warnings[name]!.value);
    this.refreshViews();
  }

  /** Re-takes the views if wasm memory grew since they were taken. */
  ensureViews(): void {
    if (this.qpos.length === 0 && this.model.nq > 0) this.refreshViews();
  }

  private refreshViews(): void {
    const d = this.data;
    this.qpos = d.qpos as Float64Array;
    this.qvel = d.qvel as Float64Array;
    this.ctrl = d.ctrl as Float64Array;
    this.siteXpos = d.site_xpos as Float64Array;
    this.siteXmat = d.site_xmat as Float64Array;
    this.xpos = d.xpos as Float64Array;
    this.xquat = d.xquat as Float64Array;
    this.mocapPos = d.mocap_pos as Float64Array;
    this.jacp = this.jacpBuffer.GetView() as Float64Array;
    this.jacr = this.jacrBuffer.GetView() as Float64Array;
  }

  /** Id of a named object, or a {@link ModelMismatchError} naming what is missing and why it was wanted. */
  id(kind: ObjectKind, name: string, wantedBy: string): number {
    const types = this.mj.mjtObj as unknown as Record<string, { value: number }>;
    const type = types[`mjOBJ_${kind.toUpperCase()}`]!.value;
    const id = this.mj.mj_name2id(this.model, type, name);
    if (id < 0)
      throw new ModelMismatchError(`the model has no ${kind} named '${name}' (named by ${wantedBy})`);
    return id;
  }

  /** The name of object `id` of `kind` (`#id` when it has none). */
  name(kind: ObjectKind, id: number): string {
    const types = this.mj.mjtObj as unknown as Record<string, { value: number }>;
    const type = types[`mjOBJ_${kind.toUpperCase()}`]!.value;
    return this.mj.mj_id2name(this.model, type, id) || `#${id}`;
  }

  /** Sum of the counts of the warnings that mean instability; compare before and after stepping. */
  instabilityWarningCount(): number {
    let total = 0;
    const warnings = this.data.warning;
    for (const index of this.warningIndices) {
      const stat = warnings.get(index);
      if (stat) {
        total += stat.number;
        stat.delete();
      }
    }
    return total;
  }

  /** Names of the warnings raised so far, for the info of a truncated episode. */
  raisedWarnings(): string[] {
    const raised: string[] = [];
    const warnings = this.data.warning;
    UNSTABLE_WARNINGS.forEach((name, i) => {
      const stat = warnings.get(this.warningIndices[i]!);
      if (stat) {
        if (stat.number > 0) raised.push(name);
        stat.delete();
      }
    });
    return raised;
  }

  /** Advances the physics by `substeps` steps of the model's timestep. */
  step(substeps: number): void {
    const { mj, model, data } = this;
    for (let i = 0; i < substeps; i++) mj.mj_step(model, data);
  }

  /** Recomputes derived quantities (positions, Jacobians' inputs) after writing qpos. */
  forward(): void {
    this.mj.mj_forward(this.model, this.data);
  }

  /** Back to the model's initial state (no allocation). */
  resetData(): void {
    this.mj.mj_resetData(this.model, this.data);
  }

  /** Frees the wasm-side model, data and buffers. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.jacpBuffer.delete();
    this.jacrBuffer.delete();
    this.data.delete();
    this.model.delete();
  }
}
