import { isAncestorOrSelf, type ModelView, PRM_WIDTH } from './model-view.js';

// What `armprior robot init` reads from an arm's MJCF: which actuated joints form the arm, base
// to tip, which actuators drive them (matched by what they drive, not by the order they are
// written in), and which joints past the arm's last joint are the gripper's fingers.

export interface FingerSurvey {
  joints: number[];
  actuators: number[];
  /** ctrl values that open and close every finger (each finger's ctrl is its joint position). */
  openCtrl: number;
  closedCtrl: number;
}

export interface ArmSurvey {
  /** Arm joints base to tip, and the position actuator driving each, same order. */
  joints: number[];
  actuators: number[];
  fingers: FingerSurvey | undefined;
  /** Why the model's gripper is left out of the config, when it has one armprior cannot drive. */
  gripperNote: string | undefined;
  /** The child of the world the arm hangs from (its base). */
  rootBody: number;
  /** Bodies at the tip: the fingers' bodies, or the last arm joint's body and what hangs from it. */
  tipBodies: number[];
  /** Things in the file that are not the arm: the task scenes bring their own floor, table and objects. */
  extras: string[];
}

/** The MJCF does not describe an arm `robot init` can set up; the message says what to change. */
export class ArmSurveyError extends Error {}

/** Slide joints with a range below this after the arm's hinges are fingers, not arm joints (m). */
const FINGER_TRAVEL_M = 0.1;

export function surveyArm(view: ModelView): ArmSurvey {
  const { enums } = view;
  const driven = drivenJoints(view);
  const byJoint = [...driven.entries()].sort((a, b) => a[0] - b[0]);
  if (byJoint.length === 0)
    throw new ArmSurveyError('no actuator drives a joint: an arm needs one position actuator per joint');
  const joints: number[] = [];
  const actuators: number[] = [];
  for (const [joint, drive] of byJoint) {
    const type = view.jointType[joint];
    if (drive.via !== 'joint' || (type !== enums.hinge && type !== enums.slide)) break;
    const body = view.jointBody[joint]!;
    const last = joints.at(-1);
    if (last !== undefined && !isAncestorOrSelf(view, view.jointBody[last]!, body)) break;
    // A joint whose body is not above every later driven joint branches off: the fingers start here.
    const later = byJoint.filter(([other]) => other > joint).map(([other]) => view.jointBody[other]!);
    if (!later.every((b) => isAncestorOrSelf(view, body, b))) break;
    if (type === enums.slide && joints.length >= 3 && travel(view, joint) < FINGER_TRAVEL_M) break;
    joints.push(joint);
    actuators.push(drive.actuator);
  }
  if (joints.length < 3)
    throw new ArmSurveyError(
      `found an arm of ${joints.length} joint${joints.length === 1 ? '' : 's'} (${joints.map((j) => view.name('joint', j)).join(', ') || 'none'}): the end effector needs at least 3 joints driven one by one, in a chain from the base`,
    );
  const notServos = actuators.filter((a) => !isPositionServo(view, a));
  if (notServos.length > 0)
    throw new ArmSurveyError(
      `${notServos.map((a) => `actuator '${view.name('actuator', a)}' (joint '${view.name('joint', view.actuatorTrnId[2 * a]!)}')`).join(', ')} ${notServos.length === 1 ? 'is not a position servo' : 'are not position servos'}: armprior sets each arm actuator's ctrl to a joint position target. Write them as <position joint="…" kp="…" kv="…"/> (or <general> with gainprm="kp" biasprm="0 -kp -kv")`,
    );
  const lastBody = view.jointBody[joints.at(-1)!]!;
  const rest = byJoint.filter(([joint]) => !joints.includes(joint));
  const outside = rest.filter(([joint]) => !isAncestorOrSelf(view, lastBody, view.jointBody[joint]!));
  if (outside.length > 0)
    throw new ArmSurveyError(
      `actuated joints ${outside.map(([j]) => `'${view.name('joint', j)}'`).join(', ')} are neither on the arm (${joints.map((j) => view.name('joint', j)).join(' → ')}) nor past its last joint: robot init sets up one arm with one gripper`,
    );
  const { fingers, note } = surveyFingers(view, rest);
  const fingerBodies = rest.map(([joint]) => view.jointBody[joint]!);
  const root = rootOf(view, view.jointBody[joints[0]!]!);
  return {
    joints,
    actuators,
    fingers,
    gripperNote: note,
    rootBody: root,
    tipBodies: fingerBodies.length > 0 ? [...new Set(fingerBodies)] : [lastBody],
    extras: extras(view, root),
  };
}

/** Each driven joint with the actuator that drives it, directly or through a fixed tendon. */
function drivenJoints(view: ModelView): Map<number, { actuator: number; via: 'joint' | 'tendon' }> {
  const driven = new Map<number, { actuator: number; via: 'joint' | 'tendon' }>();
  for (let a = 0; a < view.nu; a++) {
    const target = view.actuatorTrnId[2 * a]!;
    if (view.actuatorTrnType[a] === view.enums.trnJoint) {
      const earlier = driven.get(target);
      if (earlier?.via === 'joint')
        throw new ArmSurveyError(
          `joint '${view.name('joint', target)}' is driven by two actuators, '${view.name('actuator', earlier.actuator)}' and '${view.name('actuator', a)}': keep one position actuator per joint`,
        );
      driven.set(target, { actuator: a, via: 'joint' });
    } else if (view.actuatorTrnType[a] === view.enums.trnTendon) {
      const first = view.tendonAdr[target]!;
      for (let w = first; w < first + view.tendonNum[target]!; w++)
        if (view.wrapType[w] === view.enums.wrapJoint && !driven.has(view.wrapObjId[w]!))
          driven.set(view.wrapObjId[w]!, { actuator: a, via: 'tendon' });
    }
  }
  return driven;
}

/** A position servo: ctrl is the joint's target, force = kp (ctrl − q) − kv q̇. */
function isPositionServo(view: ModelView, actuator: number): boolean {
  const gain = view.actuatorGainPrm[PRM_WIDTH * actuator]!;
  const bias = view.actuatorBiasPrm.subarray(PRM_WIDTH * actuator, PRM_WIDTH * actuator + 3);
  return (
    view.actuatorDynType[actuator] === view.enums.dynNone &&
    view.actuatorGainType[actuator] === view.enums.gainFixed &&
    view.actuatorBiasType[actuator] === view.enums.biasAffine &&
    gain > 0 &&
    bias[0] === 0 &&
    Math.abs(bias[1]! + gain) <= 1e-9 * gain
  );
}

function travel(view: ModelView, joint: number): number {
  if (view.jointLimited[joint] !== 1) return Number.POSITIVE_INFINITY;
  return view.jointRange[2 * joint + 1]! - view.jointRange[2 * joint]!;
}

/** The range a finger's ctrl spans: its ctrlrange, or its joint's range when ctrl is unlimited. */
function ctrlRange(view: ModelView, actuator: number, joint: number): [number, number] {
  if (view.actuatorCtrlLimited[actuator] === 1)
    return [view.actuatorCtrlRange[2 * actuator]!, view.actuatorCtrlRange[2 * actuator + 1]!];
  return [view.jointRange[2 * joint]!, view.jointRange[2 * joint + 1]!];
}

/**
 * The gripper as armprior drives it: each finger a slide joint with its own position actuator,
 * all sent the same ctrl, the width being the sum of the finger positions. Which end of the
 * range opens is settled later, by measuring (tip-geometry.ts); here the low end is "closed".
 */
function surveyFingers(
  view: ModelView,
  rest: [number, { actuator: number; via: 'joint' | 'tendon' }][],
): { fingers: FingerSurvey | undefined; note: string | undefined } {
  if (rest.length === 0) return { fingers: undefined, note: undefined };
  const names = rest.map(([j]) => `'${view.name('joint', j)}'`).join(', ');
  const unsupported = (why: string) => ({
    fingers: undefined,
    note: `the gripper (joints ${names}) is left out: ${why}. armprior drives each finger as a slide joint with a position actuator whose ctrl is the finger's opening (m); until the gripper is written so, the tasks that grasp are skipped`,
  });
  if (rest.some(([, d]) => d.via === 'tendon')) return unsupported('its fingers are driven through a tendon');
  if (rest.some(([j]) => view.jointType[j] !== view.enums.slide))
    return unsupported('its fingers turn on hinges');
  if (rest.some(([, d]) => !isPositionServo(view, d.actuator)))
    return unsupported('its actuators are not position servos');
  const ranges = rest.map(([j, d]) => ctrlRange(view, d.actuator, j));
  const [low, high] = ranges[0]!;
  if (ranges.some(([l, h]) => Math.abs(l - low) > 1e-9 || Math.abs(h - high) > 1e-9))
    return unsupported(
      `its fingers' ctrl ranges differ (${ranges.map((r) => `[${r.join(', ')}]`).join(', ')}), and all get the same ctrl`,
    );
  return {
    fingers: {
      joints: rest.map(([j]) => j),
      actuators: rest.map(([, d]) => d.actuator),
      openCtrl: high,
      closedCtrl: low,
    },
    note: undefined,
  };
}

function rootOf(view: ModelView, body: number): number {
  let b = body;
  while (view.bodyParent[b] !== 0) b = view.bodyParent[b]!;
  return b;
}

/** Geoms on the world body and bodies beside the arm: a floor, a table, objects. */
function extras(view: ModelView, root: number): string[] {
  const found: string[] = [];
  for (let g = 0; g < view.ngeom; g++)
    if (view.geomBody[g] === 0) found.push(`geom '${view.name('geom', g)}'`);
  for (let b = 1; b < view.nbody; b++)
    if (view.bodyParent[b] === 0 && b !== root) found.push(`body '${view.name('body', b)}'`);
  return found;
}
