import { existsSync, writeFileSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { proposeRobot } from '../../../sim/robot-init/propose-robot.js';
import { checkRobotInSim } from '../../../sim/robot-sim-check.js';
import { BadInputError } from '../../core/errors.js';
import { checkOutputFile, outputPathError } from '../../core/output-path.js';
import { loadRobotConfig } from '../../robot-config/robot-config.js';
import { type RobotProposal, robotYamlText, siteSnippet } from '../../robot-config/robot-yaml.js';
import { formatSimCheck, SimCheckError } from './sim-check-report.js';

const ROBOT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Commander parser for a robot name: what the CLI's -r takes and the YAML's name field holds. */
function robotName(value: string): string {
  if (!ROBOT_NAME.test(value))
    throw new InvalidArgumentError(`expected letters, digits, '_', '.' or '-', got '${value}'`);
  return value;
}

/** The MJCF file's name without its extension, when that is a robot name. */
function nameFromFile(mjcfPath: string): string {
  const stem = basename(mjcfPath, extname(mjcfPath));
  if (!ROBOT_NAME.test(stem))
    throw new BadInputError(
      `the MJCF's file name '${stem}' is not a robot name (letters, digits, '_', '.' or '-'): pass --name`,
    );
  return stem;
}

/** `armprior robot init <arm.xml>`: a first robot YAML worked out from the MJCF, then checked. */
export function registerRobotInit(robot: Command): void {
  robot
    .command('init')
    .description(
      "write a starting robot YAML for an arm's MJCF: its joints base to tip, the actuators matched to the joints they drive, the gripper, a home posture with the gripper pointing down, the base placed behind the table and the end-effector site at the fingertips; then run robot check on it",
    )
    .argument('<mjcf>', "the arm's MJCF file (the arm alone; meshes and includes beside it)")
    .option('--name <name>', "the robot's name (default: the MJCF file's name)", robotName)
    .option(
      '--out <yaml>',
      'where to write the YAML (default: ./<name>.yaml); an existing file is never overwritten',
    )
    .action(async (mjcf: string, options: { name?: string; out?: string }) => {
      const mjcfPath = resolve(mjcf);
      const name = options.name ?? nameFromFile(mjcfPath);
      const out = resolve(options.out ?? `${name}.yaml`);
      if (existsSync(out)) throw alreadyThere(out);
      checkOutputFile(out);
      const proposal = await proposeRobot(mjcfPath, name);
      write(out, robotYamlText(proposal, out));
      process.stdout.write(summary(proposal, out));
      if (proposal.eeSite.toAdd) {
        process.stdout.write(`next: add the site to the MJCF, then run armprior robot check ${out}\n`);
        return;
      }
      const report = await checkRobotInSim(loadRobotConfig(out));
      process.stdout.write(formatSimCheck(report));
      if (report.problems > 0) throw new SimCheckError(report);
    });
}

/** Creates the file, refusing one already there (someone's edited config must never be lost). */
function write(path: string, text: string): void {
  try {
    writeFileSync(path, text, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyThere(path);
    throw outputPathError(path, error) ?? error;
  }
}

function alreadyThere(path: string): BadInputError {
  return new BadInputError(`${path} exists: robot init never overwrites a file; pass --out another path`);
}

function summary(p: RobotProposal, out: string): string {
  const lines = [
    `wrote ${out}`,
    `  arm      ${p.arm.joints.map((j, i) => `${j} ← ${p.arm.actuators[i]}`).join(', ')}`,
    `  gripper  ${p.gripper ? `${p.gripper.joints.join(', ')} (open ${p.gripper.openCtrl}, closed ${p.gripper.closedCtrl})` : 'none'}`,
    `  home     [${p.arm.homeQpos.map((q) => q.toFixed(3)).join(', ')}]: fingertips at (${p.home.tipTask.join(', ')}), pointing down`,
    `  base     ${p.baseDistanceM.toFixed(2)} m behind the table centre · reach ${p.reachM.toFixed(2)} m`,
    p.eeSite.toAdd
      ? `  eeSite   '${p.eeSite.name}' is not in the MJCF: add ${siteSnippet(p)} inside body '${p.eeSite.toAdd.body}'`
      : `  eeSite   '${p.eeSite.name}' (${(p.eeSite.distanceM * 1000).toFixed(0)} mm from the fingertip point)`,
    ...p.notes.map((note) => `  note     ${note}`),
  ];
  return `${lines.join('\n')}\n`;
}
