import type { Simulation } from '../mujoco/simulation.js';
import type { ArmSurvey } from './arm-survey.js';
import { commonAncestor, isAncestorOrSelf, type ModelView } from './model-view.js';
import { add, dot, norm, normalize, rotateInto, rotateOut, scale, sub, type Vec3, vec3At } from './vec3.js';

/**
 * The point the tasks should move and the direction the gripper approaches along, fixed to the
 * body the fingers hang from (the hand). The point sits between the fingertips, a little back
 * from their ends, where a grasped object's centre ends up (panda-gym's end effector).
 */
export interface TipFrame {
  body: number;
  /** In the body's frame. */
  localPoint: Vec3;
  localAxis: Vec3;
}

/** With fingers, the point sits this far back from their tips (the pads' centre); bare, at the tip. */
const PAD_INSET_M = 0.01;
/** A last joint axis further than this from the tip's direction is a pitch, not the flange's roll. */
const ROLL_AXIS_MAX_DEG = 45;

/** What the tip is made of: the arm's last joint, the bodies past it, and whether it has fingers. */
export interface TipParts {
  lastJoint: number;
  /** The fingers' bodies, or the last arm joint's body (with what hangs from it). */
  tipBodies: number[];
  /** Fingers (driven or not): the point sits between their pads, not at their ends. */
  fingered: boolean;
}

/** The tip's parts as `robot init` surveyed them. */
export function surveyedTip(survey: ArmSurvey): TipParts {
  return {
    lastJoint: survey.joints.at(-1)!,
    tipBodies: survey.tipBodies,
    fingered: survey.fingers !== undefined || survey.gripperNote !== undefined,
  };
}

/**
 * Finds the tip frame with the model at its current posture (forward() already called);
 * undefined when no geom hangs past the arm's last joint (nothing says where the tip is).
 */
export function tipFrame(sim: Simulation, view: ModelView, parts: TipParts): TipFrame | undefined {
  const d = sim.data;
  const xanchor = d.xanchor as Float64Array;
  const xaxis = d.xaxis as Float64Array;
  const lastJoint = parts.lastJoint;
  const wrist = vec3At(xanchor, 3 * lastJoint);
  const boxes = tipGeomBoxes(sim, view, parts.tipBodies);
  if (boxes.length === 0) return undefined;
  const centroid = scale(
    boxes.reduce((s, b) => add(s, b.centre), [0, 0, 0] as Vec3),
    1 / boxes.length,
  );
  const toTip = sub(centroid, wrist);
  let axis = vec3At(xaxis, 3 * lastJoint);
  if (dot(axis, toTip) < 0) axis = scale(axis, -1);
  if (norm(toTip) > 1e-6) {
    const cos = dot(axis, toTip) / norm(toTip);
    if (cos < Math.cos((ROLL_AXIS_MAX_DEG * Math.PI) / 180)) axis = normalize(toTip);
  }
  const reach = Math.max(...boxes.map((b) => dot(b.centre, axis) + b.extentAlong(axis)));
  const inset = parts.fingered ? PAD_INSET_M : 0;
  const point = add(centroid, scale(axis, reach - inset - dot(centroid, axis)));
  const body = commonAncestor(view, parts.tipBodies);
  const xpos = d.xpos as Float64Array;
  const xmat = d.xmat as Float64Array;
  return {
    body,
    localPoint: rotateInto(xmat, 9 * body, sub(point, vec3At(xpos, 3 * body))),
    localAxis: rotateInto(xmat, 9 * body, axis),
  };
}

/** The tip frame's point and axis in the world, at the model's current posture. */
export function tipInWorld(sim: Simulation, tip: TipFrame): { point: Vec3; axis: Vec3 } {
  const xpos = sim.data.xpos as Float64Array;
  const xmat = sim.data.xmat as Float64Array;
  return {
    point: add(vec3At(xpos, 3 * tip.body), rotateOut(xmat, 9 * tip.body, tip.localPoint)),
    axis: rotateOut(xmat, 9 * tip.body, tip.localAxis),
  };
}

interface GeomBox {
  centre: Vec3;
  /** Half the box's extent along a unit direction. */
  extentAlong(direction: Vec3): number;
}

/** Each tip geom's bounding box (MuJoCo's geom_aabb, in the geom's frame) placed in the world. */
function tipGeomBoxes(sim: Simulation, view: ModelView, tipBodies: number[]): GeomBox[] {
  const geomXpos = sim.data.geom_xpos as Float64Array;
  const geomXmat = sim.data.geom_xmat as Float64Array;
  const boxes: GeomBox[] = [];
  for (let g = 0; g < view.ngeom; g++) {
    if (!tipBodies.some((b) => isAncestorOrSelf(view, b, view.geomBody[g]!))) continue;
    const localCentre = vec3At(view.geomAabb, 6 * g);
    const half = vec3At(view.geomAabb, 6 * g + 3);
    const centre = add(vec3At(geomXpos, 3 * g), rotateOut(geomXmat, 9 * g, localCentre));
    boxes.push({
      centre,
      extentAlong: (direction) => {
        const local = rotateInto(geomXmat, 9 * g, direction);
        return Math.abs(local[0]) * half[0] + Math.abs(local[1]) * half[1] + Math.abs(local[2]) * half[2];
      },
    });
  }
  return boxes;
}

/**
 * How far the fingers stand from the approach line: larger is more open. Measured rather than
 * guessed from the sign of the range, since either end may be the open one.
 */
export function fingerSpread(sim: Simulation, view: ModelView, survey: ArmSurvey, tip: TipFrame): number {
  const { point, axis } = tipInWorld(sim, tip);
  const xpos = sim.data.xpos as Float64Array;
  let spread = 0;
  for (const joint of survey.fingers?.joints ?? []) {
    const offset = sub(vec3At(xpos, 3 * view.jointBody[joint]!), point);
    spread += norm(sub(offset, scale(axis, dot(offset, axis))));
  }
  return spread;
}
