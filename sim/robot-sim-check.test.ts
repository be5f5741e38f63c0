import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/core/paths.js';
import { loadRobotConfig } from '../src/robot-config/robot-config.js';
import { checkRobotInSim } from './robot-sim-check.js';

/** A copy of the bundled Panda, its MJCF and YAML edited: what a user's first try looks like. */
function variant(
  name: string,
  editXml: (xml: string) => string,
  editYaml: (yaml: string) => string = (y) => y,
) {
  const dir = mkdtempSync(join(tmpdir(), 'armprior-robot-'));
  const xml = readFileSync(join(packageRoot(), 'sim', 'assets', 'panda.xml'), 'utf8');
  writeFileSync(join(dir, `${name}.xml`), editXml(xml));
  const yaml = readFileSync(join(packageRoot(), 'config', 'robots', 'panda.yaml'), 'utf8')
    .replace(/^mjcf: .*$/m, `mjcf: ${name}.xml`)
    .replace(/^name: .*$/m, `name: ${name}`);
  writeFileSync(join(dir, `${name}.yaml`), editYaml(yaml));
  return loadRobotConfig(join(dir, `${name}.yaml`));
}

const problems = async (robot: ReturnType<typeof loadRobotConfig>) =>
  (await checkRobotInSim(robot)).lines.filter((l) => l.level === 'problem');

describe('robot check in simulation (issue #21)', () => {
  it('passes the bundled Panda: every task scene, the site at the fingertips, the gripper down at home, holding still, reaching the goal box', async () => {
    const report = await checkRobotInSim(loadRobotConfig('panda'));
    expect(report.problems).toBe(0);
    expect(report.lines.map((l) => l.check)).toEqual([
      'scene',
      'scene',
      'scene',
      'scene',
      'scene',
      'site',
      'home',
      'hold',
      'reach',
    ]);
  });

  it('an end-effector site 4 cm behind the fingertips: the site check gives the distance and the site to add', async () => {
    const palm = variant('palm', (xml) =>
      xml.replace('name="ee" pos="0 0 0.1034"', 'name="ee" pos="0 0 0.0634"'),
    );
    const found = await problems(palm);
    const site = found.find((l) => l.check === 'site');
    expect(site?.text).toMatch(/^eeSite 'ee' is 37 mm from the point between the fingertips: /);
    expect(site?.text).toContain(
      `Put a site there, <site name="ee" pos="0 0 0.1004" zaxis="0 0 1"/> in body 'hand'`,
    );
  });

  it('an arm that sags at rest (no gravity compensation, weak servos): the hold check says so and what to change', async () => {
    const sag = variant('sag', (xml) =>
      xml
        .replace(/gravcomp="1"/g, 'gravcomp="0"')
        .replace(/(name="actuator\d" joint="joint\d") kp="\d+" kv="\d+"/g, '$1 kp="100" kv="1"'),
    );
    const [hold] = await problems(sag);
    expect(hold?.check).toBe('hold');
    expect(hold?.text).toMatch(/^does not hold still at home \(drift \d+\.\d mm/);
    expect(hold?.text).toContain('damping');
  });

  it('an arm whose base stands too far from the table: the reach check names the points it misses', async () => {
    const far = variant(
      'far',
      (xml) => xml,
      (yaml) => yaml.replace(/^basePos: .*$/m, 'basePos: [-0.9, 0, 0]'),
    );
    const [reach] = await problems(far);
    expect(reach?.check).toBe('reach');
    expect(reach?.text).toMatch(
      /^does not reach \d of 9 test points of Reach's goal box .*\(0\.14, -0\.14, 0\.03\) \d+\.\d cm away/,
    );
    expect(reach?.text).toContain('Check basePos');
  });

  it('a home posture that does not point the gripper down: the home check gives the angle and what to change', async () => {
    const tilted = variant(
      'tilted',
      (xml) => xml,
      (yaml) =>
        yaml.replace(
          /^(\s*homeQpos: \[)([^,\]]+),([^,\]]+),([^,\]]+),([^,\]]+),/m,
          (_m, head, a, b, c, d) => `${head}${a},${b},${c},${Number(d) + 0.8},`,
        ),
    );
    const found = await problems(tilted);
    const home = found.find((l) => l.check === 'home');
    expect(home?.text).toMatch(/^at home, eeSite '\w+' points \d+° away from straight down/);
    expect(home?.text).toContain('change arm.homeQpos');
  });

  it('an MJCF written as a whole scene: every task scene refuses it, and nothing else is tried', async () => {
    const scene = variant('scene', (xml) =>
      xml.replace('<worldbody>', '<worldbody>\n    <geom name="floor" type="plane" size="2 2 0.1"/>'),
    );
    const found = await problems(scene);
    expect(found).toHaveLength(5);
    expect(found.every((l) => l.check === 'scene' && l.text.includes("the geom 'floor' is in both"))).toBe(
      true,
    );
  });
});
