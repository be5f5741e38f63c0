import type { Simulation } from '../../../sim/mujoco/simulation.js';
import type { SceneGeom } from './scene-replay-format.js';
import { roundSceneValue } from './scene-replay-format.js';

/** The static part of a replay: the scene's bodies and geoms, taken once per env. */
export interface SceneGeometry {
  /** Body names, index = MuJoCo body id (unnamed bodies are called `body<id>`). */
  bodies: string[];
  geoms: SceneGeom[];
  /** Geoms left out, with why (height fields, SDFs, flexes; hidden collision groups). */
  skippedGeoms: string[];
}

/**
 * MuJoCo geom groups shown by default in MuJoCo's own viewer (0–2). Robot models (MuJoCo
 * Menagerie) put collision-only duplicates of their visual meshes in group 3; drawing them would
 * show every link twice.
 */
const VISIBLE_GROUPS = 3;

/** MuJoCo's default geom colour: a geom left at it takes its material's colour, as MuJoCo renders it. */
const DEFAULT_RGBA = [0.5, 0.5, 0.5, 1];

/**
 * Reads the scene's bodies and geoms from the compiled model. Meshes become boxes of their
 * bounding box (MuJoCo's `geom_aabb`: centre and half sizes in the geom frame); geom types a box
 * cannot stand for (height field, SDF) are skipped and named in `skippedGeoms`.
 */
export function readSceneGeometry(sim: Simulation): SceneGeometry {
  const { mj, model } = sim;
  const objects = mj.mjtObj as unknown as Record<string, { value: number }>;
  const bodyType = objects.mjOBJ_BODY!.value;
  const geomType = objects.mjOBJ_GEOM!.value;
  const nameOf = (type: number, id: number): string => mj.mj_id2name(model, type, id) ?? '';
  const bodies = Array.from({ length: model.nbody }, (_, id) => nameOf(bodyType, id) || `body${id}`);

  const enumValues = mj.mjtGeom as unknown as Record<string, { value: number }>;
  const typeNames = new Map<number, SceneGeom['type'] | 'mesh'>([
    [enumValues.mjGEOM_PLANE!.value, 'plane'],
    [enumValues.mjGEOM_SPHERE!.value, 'sphere'],
    [enumValues.mjGEOM_CAPSULE!.value, 'capsule'],
    [enumValues.mjGEOM_ELLIPSOID!.value, 'ellipsoid'],
    [enumValues.mjGEOM_CYLINDER!.value, 'cylinder'],
    [enumValues.mjGEOM_BOX!.value, 'box'],
    [enumValues.mjGEOM_MESH!.value, 'mesh'],
  ]);
  // Each getter builds a fresh view of wasm memory; take each array once.
  const types = model.geom_type as Int32Array;
  const bodyIds = model.geom_bodyid as Int32Array;
  const groups = model.geom_group as Int32Array;
  const sizes = model.geom_size as Float64Array;
  const positions = model.geom_pos as Float64Array;
  const quats = model.geom_quat as Float64Array;
  const colours = model.geom_rgba as Float32Array;
  const boxes = model.geom_aabb as Float64Array;
  const materials = model.geom_matid as Int32Array;
  const materialColours = model.mat_rgba as Float32Array;

  const geoms: SceneGeom[] = [];
  const skippedGeoms: string[] = [];
  for (let g = 0; g < model.ngeom; g++) {
    const name = nameOf(geomType, g);
    const label = name ? `'${name}'` : `#${g}`;
    const kind = typeNames.get(types[g]!);
    if (kind === undefined) {
      skippedGeoms.push(`geom ${label}: MuJoCo geom type ${types[g]} has no replay shape`);
      continue;
    }
    if (groups[g]! >= VISIBLE_GROUPS) {
      skippedGeoms.push(`geom ${label}: group ${groups[g]} (hidden, collision only)`);
      continue;
    }
    const pos = triple(positions, 3 * g);
    const quat = quad(quats, 4 * g);
    let size = triple(sizes, 3 * g);
    if (kind === 'mesh') {
      // The bounding box may be off-centre in the geom frame: move the box's centre there.
      const centre = rotate(quat, triple(boxes, 6 * g));
      for (let i = 0; i < 3; i++) pos[i] = pos[i]! + centre[i]!;
      size = triple(boxes, 6 * g + 3);
    }
    let rgba = quad(colours, 4 * g);
    const material = materials[g]!;
    if (material >= 0 && rgba.every((v, i) => Math.abs(v - DEFAULT_RGBA[i]!) < 1e-6)) {
      rgba = quad(materialColours, 4 * material);
    }
    geoms.push({
      type: kind === 'mesh' ? 'box' : kind,
      body: bodyIds[g]!,
      size: size.map(roundSceneValue) as SceneGeom['size'],
      pos: pos.map(roundSceneValue) as SceneGeom['pos'],
      quat: quat.map(roundSceneValue) as SceneGeom['quat'],
      rgba: rgba.map((v) => Math.round(v * 1000) / 1000) as SceneGeom['rgba'],
      ...(name ? { name } : {}),
    });
  }
  return { bodies, geoms, skippedGeoms };
}

function triple(values: ArrayLike<number>, offset: number): [number, number, number] {
  return [values[offset]!, values[offset + 1]!, values[offset + 2]!];
}

function quad(values: ArrayLike<number>, offset: number): [number, number, number, number] {
  return [values[offset]!, values[offset + 1]!, values[offset + 2]!, values[offset + 3]!];
}

/** Rotates `v` by the unit quaternion `q` (w, x, y, z). */
function rotate(q: readonly number[], v: readonly number[]): [number, number, number] {
  const [w, x, y, z] = q as [number, number, number, number];
  const [vx, vy, vz] = v as [number, number, number];
  // t = 2 (q_vec × v); v' = v + w t + q_vec × t
  const tx = 2 * (y * vz - z * vy);
  const ty = 2 * (z * vx - x * vz);
  const tz = 2 * (x * vy - y * vx);
  return [vx + w * tx + (y * tz - z * ty), vy + w * ty + (z * tx - x * tz), vz + w * tz + (x * ty - y * tx)];
}
