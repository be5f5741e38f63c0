import { basename, dirname } from 'node:path';
import { ModelMismatchError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import type { RobotProposal } from '../../src/robot-config/robot-yaml.js';
import { compileModel, readModelFolder } from '../mujoco/model-loader.js';
import { getMujoco } from '../mujoco/module.js';
import { Simulation } from '../mujoco/simulation.js';
import { type ArmSurvey, ArmSurveyError, surveyArm } from './arm-survey.js';
import { type Posture, PostureSolver, REACH_TOLERANCE, setArm } from './home-posture.js';
import { isAncestorOrSelf, type ModelView, viewModel } from './model-view.js';
import { fingerSpread, surveyedTip, type TipFrame, tipFrame, tipInWorld } from './tip-geometry.js';
import { dot, norm, sub, type Vec3, vec3At } from './vec3.js';

// `armprior robot init <arm.xml>`: a first robot config for an arm's MJCF, worked out from the
// model the way the tasks will use it (issue #21: a user had to find the joints, match the
// actuators, compute a gripper-down home posture and place the end-effector site by hand).

/** Where the home posture puts the fingertips, in the task frame: above the table's centre (panda-gym's). */
export const HOME_TIP_TASK: Vec3 = [0, 0, 0.2];
/**
 * How far behind the table centre the base may stand, tried in this order: panda-gym's 0.6 m
 * first, closer for an arm that cannot reach the goal box's far corners from there.
 */
const BASE_DISTANCES = [0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3];
/** The box the tasks' goals and objects lie in (task frame): Reach's goal box, which spans the others'. */
const GOAL_BOX = { halfWidthM: 0.15, lowM: 0.03, highM: 0.27 } as const;
const GOAL_CORNERS: Vec3[] = [-1, 1].flatMap((sx) =>
  [-1, 1].flatMap((sy) =>
    [GOAL_BOX.lowM, GOAL_BOX.highM].map((z): Vec3 => [sx * GOAL_BOX.halfWidthM, sy * GOAL_BOX.halfWidthM, z]),
  ),
);
/** An existing site serves as the end effector within this distance of the tip point, its z axis within this angle. */
const SITE_MATCH = { distanceM: 0.015, angleDeg: 15 } as const;
/** The speed limit written when the MJCF has none (it never does): a cautious value to replace with the datasheet's. */
export const DEFAULT_JOINT_SPEED = 2.0;

export async function proposeRobot(mjcfPath: string, name: string): Promise<RobotProposal> {
  const mj = await getMujoco();
  const model = compileModel(mj, {
    displayName: `the robot MJCF ${mjcfPath}`,
    xml: `<mujoco model="armprior-robot-init"><include file="${basename(mjcfPath)}"/></mujoco>`,
    files: readModelFolder(dirname(mjcfPath)),
  });
  const sim = new Simulation(mj, model);
  try {
    const view = viewModel(mj, model);
    let survey: ArmSurvey;
    try {
      survey = surveyArm(view);
    } catch (error) {
      if (error instanceof ArmSurveyError) throw new ModelMismatchError(`${mjcfPath}: ${error.message}`);
      throw error;
    }
    return propose(sim, view, survey, mjcfPath, name);
  } finally {
    sim.dispose();
  }
}

function propose(
  sim: Simulation,
  view: ModelView,
  survey: ArmSurvey,
  mjcfPath: string,
  name: string,
): RobotProposal {
  const qpos0 = survey.joints.map((j) => sim.model.qpos0[view.jointQposAdr[j]!]!);
  const findTip = () => {
    setArm(sim, view, survey, qpos0);
    const found = tipFrame(sim, view, surveyedTip(survey));
    if (!found)
      throw new ModelMismatchError(
        `${mjcfPath}: no geom hangs past the arm's last joint '${view.name('joint', survey.joints.at(-1)!)}', so nothing says where its tip is: give the last link (and the gripper) their geoms`,
      );
    return found;
  };
  orientFingers(sim, view, survey, findTip(), qpos0);
  const tip = findTip();
  const reach = armReach(sim, survey, tip);
  const root = vec3At(sim.data.xpos as Float64Array, 3 * survey.rootBody);
  const solver = new PostureSolver(sim, view, survey, tip, root[2] - 0.005);
  const placement = placeBase(solver, root);
  if (!placement)
    throw new ModelMismatchError(
      `${mjcfPath}: found no posture of the arm (${survey.joints.map((j) => view.name('joint', j)).join(', ')}) that holds its fingertips above the table's centre, ${HOME_TIP_TASK[2]} m up and pointing down, within the joint limits, with the base ${BASE_DISTANCES[0]}–${BASE_DISTANCES.at(-1)} m behind it: check the joints' ranges and axes`,
    );
  const { distance, basePos, home, missed } = placement;
  const notes: string[] = [];
  if (survey.extras.length > 0)
    notes.push(
      `${basename(mjcfPath)} holds more than the arm (${survey.extras.join(', ')}): the task scenes bring their own floor, table, light and objects, and include the robot's file unchanged. Keep the arm in a file of its own and include that from your scene`,
    );
  if (survey.gripperNote) notes.push(survey.gripperNote);
  if (missed.length > 0)
    notes.push(
      `from no base placement tried do the fingertips reach every corner of the tasks' goal box (±${GOAL_BOX.halfWidthM} m around the table centre, ${GOAL_BOX.lowM}–${GOAL_BOX.highM} m high) pointing down; here they miss ${missed.map((p) => `(${p.join(', ')})`).join(', ')}: the arm may be too short for the tasks`,
    );
  return {
    name,
    mjcfPath,
    basePos,
    baseDistanceM: distance,
    reachM: reach,
    eeSite: chooseSite(sim, view, survey, tip),
    arm: {
      joints: survey.joints.map((j) => view.name('joint', j)),
      actuators: survey.actuators.map((a) => view.name('actuator', a)),
      homeQpos: home.qpos,
      ranges: survey.joints.map((j) =>
        view.jointLimited[j] === 1 ? [view.jointRange[2 * j]!, view.jointRange[2 * j + 1]!] : undefined,
      ),
      maxJointVelRadPerSec: survey.joints.map(() => DEFAULT_JOINT_SPEED),
    },
    gripper: survey.fingers && {
      joints: survey.fingers.joints.map((j) => view.name('joint', j)),
      actuators: survey.fingers.actuators.map((a) => view.name('actuator', a)),
      openCtrl: survey.fingers.openCtrl,
      closedCtrl: survey.fingers.closedCtrl,
    },
    home: { tipTask: HOME_TIP_TASK, positionErrorM: home.positionErrorM, angleDeg: home.angleDeg },
    notes,
  };
}

interface Placement {
  distance: number;
  basePos: Vec3;
  home: Posture;
  /** Goal-box corners the fingertips do not reach from this placement. */
  missed: Vec3[];
}

/**
 * The base placement, nearest to panda-gym's first, from which the fingertips reach every corner
 * of the goal box pointing down, each from the home posture as the tasks start; when none does,
 * the one that misses fewest. basePos is where the MJCF world origin sits in the task frame: the
 * root body lands on the table top, straight behind its centre, wherever the file put it.
 */
function placeBase(solver: PostureSolver, root: Vec3): Placement | undefined {
  let best: Placement | undefined;
  for (const distance of BASE_DISTANCES) {
    const basePos: Vec3 = [-distance - root[0], 0 - root[1], 0 - root[2]]; // 0 − x: no −0 in the YAML
    const home = solver.home(sub(HOME_TIP_TASK, basePos), Rng.fromSeed(0));
    if (!home) continue;
    const missed = GOAL_CORNERS.filter(
      (corner) => !solver.solve(sub(corner, basePos), home.qpos, REACH_TOLERANCE),
    );
    if (!best || missed.length < best.missed.length) best = { distance, basePos, home, missed };
    if (missed.length === 0) break;
  }
  return best;
}

/** Settles which end of the fingers' range opens them, by measuring the spread at each end. */
function orientFingers(
  sim: Simulation,
  view: ModelView,
  survey: ArmSurvey,
  tip: TipFrame,
  q: number[],
): void {
  const fingers = survey.fingers;
  if (!fingers) return;
  const spreadAt = (ctrl: number) => {
    setArm(sim, view, survey, q);
    for (const j of fingers.joints) sim.qpos[view.jointQposAdr[j]!] = ctrl;
    sim.forward();
    return fingerSpread(sim, view, survey, tip);
  };
  if (spreadAt(fingers.closedCtrl) > spreadAt(fingers.openCtrl))
    [fingers.openCtrl, fingers.closedCtrl] = [fingers.closedCtrl, fingers.openCtrl];
}

/** The arm stretched out: joint anchor to joint anchor, then to the tip (an upper bound on its reach). */
function armReach(sim: Simulation, survey: ArmSurvey, tip: TipFrame): number {
  const anchors = survey.joints.map((j) => vec3At(sim.data.xanchor as Float64Array, 3 * j));
  anchors.push(tipInWorld(sim, tip).point);
  let reach = 0;
  for (let k = 1; k < anchors.length; k++) reach += norm(sub(anchors[k]!, anchors[k - 1]!));
  return reach;
}

/**
 * An existing site at the tip point, its z axis along the approach, or the site to add: the
 * config names a site, and the IK and `robot check` read the site's position and z axis.
 */
function chooseSite(
  sim: Simulation,
  view: ModelView,
  survey: ArmSurvey,
  tip: TipFrame,
): RobotProposal['eeSite'] {
  const { point, axis } = tipInWorld(sim, tip);
  const lastBody = view.jointBody[survey.joints.at(-1)!]!;
  const siteXpos = sim.data.site_xpos as Float64Array;
  const siteXmat = sim.data.site_xmat as Float64Array;
  let best: { site: number; distance: number } | undefined;
  for (let s = 0; s < view.nsite; s++) {
    if (!isAncestorOrSelf(view, lastBody, view.siteBody[s]!)) continue;
    const distance = norm(sub(vec3At(siteXpos, 3 * s), point));
    const zAxis: Vec3 = [siteXmat[9 * s + 2]!, siteXmat[9 * s + 5]!, siteXmat[9 * s + 8]!];
    const angle = (Math.acos(Math.max(-1, Math.min(1, dot(zAxis, axis)))) * 180) / Math.PI;
    if (
      distance <= SITE_MATCH.distanceM &&
      angle <= SITE_MATCH.angleDeg &&
      (!best || distance < best.distance)
    )
      best = { site: s, distance };
  }
  if (best) return { name: view.name('site', best.site), toAdd: undefined, distanceM: best.distance };
  const taken = new Set(Array.from({ length: view.nsite }, (_, s) => view.name('site', s)));
  const siteName = taken.has('ee') ? 'armprior_ee' : 'ee';
  return {
    name: siteName,
    toAdd: { body: view.name('body', tip.body), pos: tip.localPoint, zaxis: tip.localAxis },
    distanceM: 0,
  };
}
