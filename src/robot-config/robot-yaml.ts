import { dirname, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import { RobotConfigSchema } from './robot-config.js';

type Vec3 = [number, number, number];

/** What `armprior robot init` worked out from an arm's MJCF (sim/robot-init/propose-robot.ts). */
export interface RobotProposal {
  name: string;
  mjcfPath: string;
  basePos: Vec3;
  /** How far behind the table centre the arm's base stands (m). */
  baseDistanceM: number;
  /** The arm stretched out, base joint to tip (m). */
  reachM: number;
  eeSite: {
    name: string;
    /** The site to add to the MJCF when none is at the fingertips (position and z axis in `body`'s frame). */
    toAdd: { body: string; pos: Vec3; zaxis: Vec3 } | undefined;
    /** How far the chosen existing site is from the fingertip point (m). */
    distanceM: number;
  };
  arm: {
    joints: string[];
    actuators: string[];
    homeQpos: number[];
    /** Each joint's MJCF range, undefined when unlimited. */
    ranges: ([number, number] | undefined)[];
    maxJointVelRadPerSec: number[];
  };
  gripper: { joints: string[]; actuators: string[]; openCtrl: number; closedCtrl: number } | undefined;
  home: { tipTask: Vec3; positionErrorM: number; angleDeg: number };
  /** What the user should know or change, one sentence each. */
  notes: string[];
}

/** The starting robot YAML, commented so a reader sees where each value came from. */
export function robotYamlText(p: RobotProposal, yamlPath: string): string {
  const mjcf = relative(dirname(yamlPath), p.mjcfPath) || p.mjcfPath;
  const ranges = p.arm.ranges.map(
    (r, i) => `${p.arm.joints[i]} ${r ? `[${r.map((x) => round(x)).join(', ')}]` : 'unlimited'}`,
  );
  const lines = [
    `# Written by \`armprior robot init\` from ${mjcf}. Check it with \`armprior robot check <this file>\`.`,
    `name: ${scalar(p.name)}`,
    `description: ${scalar(`${p.arm.joints.length}-joint arm${p.gripper ? ' with a gripper' : ''} from ${mjcf}`)}`,
    `mjcf: ${scalar(mjcf)}`,
    `# Where the MJCF world origin sits in the task frame (origin: the table-top centre): the arm's`,
    `# base stands on the table top, ${p.baseDistanceM.toFixed(2)} m behind its centre (its reach stretched out: ${p.reachM.toFixed(2)} m).`,
    `basePos: ${flow(p.basePos.map((x) => round(x)))}`,
    p.eeSite.toAdd
      ? `# Not in the MJCF yet: add ${siteSnippet(p)} to body '${p.eeSite.toAdd.body}'.`
      : `# The site at the fingertips (${(p.eeSite.distanceM * 1000).toFixed(0)} mm from the point between them), its z axis along the gripper.`,
    `eeSite: ${scalar(p.eeSite.name)}`,
    'arm:',
    '  # Base to tip; each actuator is the position servo that drives the joint beside it.',
    `  joints: ${flow(p.arm.joints)}`,
    `  actuators: ${flow(p.arm.actuators)}`,
    `  # Fingertips at ${flow(p.home.tipTask)} in the task frame, pointing straight down (${(p.home.positionErrorM * 1000).toFixed(1)} mm, ${p.home.angleDeg.toFixed(1)}° off).`,
    `  # MJCF ranges: ${ranges.join(', ')}.`,
    `  homeQpos: ${flow(p.arm.homeQpos.map((x) => round(x)))}`,
    "  # Not in the MJCF: replace with the limits from the arm's datasheet (rad/s).",
    `  maxJointVelRadPerSec: ${flow(p.arm.maxJointVelRadPerSec)}`,
    '  jointLimitMarginRad: 0.02',
  ];
  if (p.gripper)
    lines.push(
      'gripper:',
      `  joints: ${flow(p.gripper.joints)}`,
      `  actuators: ${flow(p.gripper.actuators)}`,
      "  # The ends of the fingers' ctrl range, open being the one that spreads them.",
      `  openCtrl: ${round(p.gripper.openCtrl)}`,
      `  closedCtrl: ${round(p.gripper.closedCtrl)}`,
    );
  lines.push(
    'control:',
    '  maxEeStepM: 0.05',
    '  ikDamping: 0.05',
    '  orientationWeight: 0.5',
    '  nullspaceGain: 0.05',
    '  workspaceMin: [-0.35, -0.4, 0.0]',
    '  workspaceMax: [0.6, 0.4, 0.6]',
  );
  const text = `${lines.join('\n')}\n`;
  // Written from measured values, so a text the schema refuses is armprior's bug, not the user's.
  const checked = RobotConfigSchema.safeParse(parse(text));
  if (!checked.success)
    throw new Error(`robot init wrote a config its schema refuses: ${checked.error.message}`);
  return text;
}

/** The `<site>` element to add to the MJCF when the proposal needs one. */
export function siteSnippet(p: RobotProposal): string | undefined {
  const site = p.eeSite.toAdd;
  return site && siteElement(p.eeSite.name, site.pos, site.zaxis);
}

/** An MJCF `<site>` at `pos` with its z axis along `zaxis` (both in its body's frame), to 0.1 mm. */
export function siteElement(name: string, pos: readonly number[], zaxis: readonly number[]): string {
  const v = (x: readonly number[]) => x.map((c) => round(c, 4)).join(' ');
  return `<site name="${name}" pos="${v(pos)}" zaxis="${v(zaxis)}"/>`;
}

function round(x: number, digits = 4): number {
  const r = Number(x.toFixed(digits));
  return Object.is(r, -0) ? 0 : r;
}

function flow(values: readonly (string | number)[]): string {
  return stringify(values, { collectionStyle: 'flow', lineWidth: 0 }).trim();
}

function scalar(value: string): string {
  return stringify(value, { lineWidth: 0 }).trim();
}
