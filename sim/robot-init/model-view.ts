import type { MjModel } from 'mujoco-js';
import type { Mujoco } from '../mujoco/module.js';

/**
 * The parts of a compiled MuJoCo model `robot init` reads, copied out of wasm memory once
 * (mujoco-js views go stale when memory grows) and named as MuJoCo names them.
 */
export interface ModelView {
  nbody: number;
  njnt: number;
  nu: number;
  nsite: number;
  ngeom: number;
  bodyParent: Int32Array;
  jointType: Int32Array;
  jointBody: Int32Array;
  jointRange: Float64Array;
  jointLimited: Uint8Array;
  jointQposAdr: Int32Array;
  jointDofAdr: Int32Array;
  actuatorTrnType: Int32Array;
  actuatorTrnId: Int32Array;
  actuatorDynType: Int32Array;
  actuatorGainType: Int32Array;
  actuatorBiasType: Int32Array;
  actuatorGainPrm: Float64Array;
  actuatorBiasPrm: Float64Array;
  actuatorCtrlRange: Float64Array;
  actuatorCtrlLimited: Uint8Array;
  tendonAdr: Int32Array;
  tendonNum: Int32Array;
  wrapType: Int32Array;
  wrapObjId: Int32Array;
  siteBody: Int32Array;
  geomBody: Int32Array;
  geomAabb: Float64Array;
  /** MuJoCo's enum values this module compares against. */
  enums: {
    hinge: number;
    slide: number;
    trnJoint: number;
    trnTendon: number;
    wrapJoint: number;
    gainFixed: number;
    biasAffine: number;
    dynNone: number;
  };
  name(kind: 'body' | 'joint' | 'actuator' | 'site' | 'geom' | 'tendon', id: number): string;
}

/** MuJoCo's gainprm and biasprm rows hold this many numbers per actuator (mjNGAIN, mjNBIAS). */
export const PRM_WIDTH = 10;

export function viewModel(mj: Mujoco, m: MjModel): ModelView {
  const value = (e: unknown, key: string) => (e as Record<string, { value: number }>)[key]!.value;
  const objects = mj.mjtObj as unknown;
  return {
    nbody: m.nbody,
    njnt: m.njnt,
    nu: m.nu,
    nsite: m.nsite,
    ngeom: m.ngeom,
    bodyParent: Int32Array.from(m.body_parentid as Int32Array),
    jointType: Int32Array.from(m.jnt_type as Int32Array),
    jointBody: Int32Array.from(m.jnt_bodyid as Int32Array),
    jointRange: Float64Array.from(m.jnt_range as Float64Array),
    jointLimited: Uint8Array.from(m.jnt_limited as Uint8Array),
    jointQposAdr: Int32Array.from(m.jnt_qposadr as Int32Array),
    jointDofAdr: Int32Array.from(m.jnt_dofadr as Int32Array),
    actuatorTrnType: Int32Array.from(m.actuator_trntype as Int32Array),
    actuatorTrnId: Int32Array.from(m.actuator_trnid as Int32Array),
    actuatorDynType: Int32Array.from(m.actuator_dyntype as Int32Array),
    actuatorGainType: Int32Array.from(m.actuator_gaintype as Int32Array),
    actuatorBiasType: Int32Array.from(m.actuator_biastype as Int32Array),
    actuatorGainPrm: Float64Array.from(m.actuator_gainprm as Float64Array),
    actuatorBiasPrm: Float64Array.from(m.actuator_biasprm as Float64Array),
    actuatorCtrlRange: Float64Array.from(m.actuator_ctrlrange as Float64Array),
    actuatorCtrlLimited: Uint8Array.from(m.actuator_ctrllimited as Uint8Array),
    tendonAdr: Int32Array.from(m.tendon_adr as Int32Array),
    tendonNum: Int32Array.from(m.tendon_num as Int32Array),
    wrapType: Int32Array.from(m.wrap_type as Int32Array),
    wrapObjId: Int32Array.from(m.wrap_objid as Int32Array),
    siteBody: Int32Array.from(m.site_bodyid as Int32Array),
    geomBody: Int32Array.from(m.geom_bodyid as Int32Array),
    geomAabb: Float64Array.from(m.geom_aabb as Float64Array),
    enums: {
      hinge: value(mj.mjtJoint, 'mjJNT_HINGE'),
      slide: value(mj.mjtJoint, 'mjJNT_SLIDE'),
      trnJoint: value(mj.mjtTrn, 'mjTRN_JOINT'),
      trnTendon: value(mj.mjtTrn, 'mjTRN_TENDON'),
      wrapJoint: value(mj.mjtWrap, 'mjWRAP_JOINT'),
      gainFixed: value(mj.mjtGain, 'mjGAIN_FIXED'),
      biasAffine: value(mj.mjtBias, 'mjBIAS_AFFINE'),
      dynNone: value(mj.mjtDyn, 'mjDYN_NONE'),
    },
    name: (kind, id) => mj.mj_id2name(m, value(objects, `mjOBJ_${kind.toUpperCase()}`), id) || `#${id}`,
  };
}

/** Whether body `ancestor` is `body` or lies on its path to the world. */
export function isAncestorOrSelf(view: ModelView, ancestor: number, body: number): boolean {
  for (let b = body; ; b = view.bodyParent[b]!) {
    if (b === ancestor) return true;
    if (b === 0) return false;
  }
}

/** The deepest body that is an ancestor-or-self of every body given. */
export function commonAncestor(view: ModelView, bodies: readonly number[]): number {
  let common = bodies[0] ?? 0;
  for (const body of bodies) while (!isAncestorOrSelf(view, common, body)) common = view.bodyParent[common]!;
  return common;
}
