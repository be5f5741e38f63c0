import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/core/paths.js';
import { runCli } from './support/run-cli.js';

/** The test arm's folder copied to a fresh one: init writes beside it, and the test edits its MJCF. */
function sixDofArm(): string {
  const dir = mkdtempSync(join(tmpdir(), 'armprior-robot-init-'));
  cpSync(join(packageRoot(), 'test', 'fixtures', 'six-dof-arm'), dir, { recursive: true });
  return dir;
}

describe('armprior robot init (issue #21)', () => {
  it('a new 6-joint arm: init, add the site it asks for, init again: robot check passes and pick-and-place runs on it', async () => {
    const dir = sixDofArm();
    const first = await runCli(['robot', 'init', 'arm.xml'], {}, undefined, dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`wrote ${join(dir, 'arm.yaml')}`);
    expect(first.stdout).toContain(
      'arm      shoulder_pan ← pan_servo, shoulder_lift ← lift_servo, elbow ← elbow_servo, wrist_pitch ← pitch_servo, wrist_yaw ← yaw_servo, tool_roll ← roll_servo',
    );
    const asked = /'ee' is not in the MJCF: add (<site [^>]+\/>) inside body 'hand'/.exec(first.stdout);
    expect(asked, first.stdout).not.toBeNull();
    expect(first.stdout).toContain(
      `next: add the site to the MJCF, then run armprior robot check ${join(dir, 'arm.yaml')}`,
    );

    // Run again, it refuses to overwrite the YAML it wrote (the user may have edited it).
    const written = readFileSync(join(dir, 'arm.yaml'), 'utf8');
    const again = await runCli(['robot', 'init', 'arm.xml'], {}, undefined, dir);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe(
      `armprior: ${join(dir, 'arm.yaml')} exists: robot init never overwrites a file; pass --out another path`,
    );
    expect(readFileSync(join(dir, 'arm.yaml'), 'utf8')).toBe(written);

    // The user adds the site exactly as printed; init now takes it and robot check passes.
    const xml = readFileSync(join(dir, 'arm.xml'), 'utf8');
    writeFileSync(join(dir, 'arm.xml'), xml.replace(/(<body name="hand"[^>]*>)/, `$1\n${asked![1]}`));
    const second = await runCli(
      ['robot', 'init', 'arm.xml', '--name', 'six', '--out', 'six.yaml'],
      {},
      undefined,
      dir,
    );
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain("eeSite   'ee' (0 mm from the fingertip point)");
    expect(second.stdout).toContain('ok       the gripper points down at home');
    expect(second.stdout).toContain('ok       holds still at home');
    expect(second.stdout).toContain("ok       reaches all 9 test points of Reach's goal box within 1 cm");
    expect(second.stdout.trim().endsWith('no problems found')).toBe(true);

    const sim = await runCli([
      'sim',
      '-t',
      'pick-and-place',
      '-r',
      join(dir, 'six.yaml'),
      '-n',
      '2',
      '--json',
    ]);
    expect(sim.code, sim.stderr).toBe(0);
    expect(JSON.parse(sim.stdout)).toMatchObject({ task: 'pick-and-place', robot: 'six' });
  }, 180_000);

  it('an arm written as a whole scene: the YAML is written, and what is not the arm is named with the clash it causes', async () => {
    const dir = sixDofArm();
    // With the end-effector site in place (as the first test adds it), init goes on to robot check.
    const xml = readFileSync(join(dir, 'arm.xml'), 'utf8');
    writeFileSync(
      join(dir, 'arm.xml'),
      xml.replace(/(<body name="hand"[^>]*>)/, '$1\n<site name="ee" pos="0.09 0 0" zaxis="1 0 0"/>'),
    );
    const run = await runCli(['robot', 'init', 'scene.xml', '--out', 'scene.yaml'], {}, undefined, dir);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(
      "note     scene.xml holds more than the arm (geom 'floor', geom 'bench', body 'box'): the task scenes bring their own floor, table, light and objects",
    );
    expect(run.stdout).toContain(
      "repeated name 'floor' in geom: the geom 'floor' is in both the robot's MJCF (scene.xml) and the scene of task 'reach'",
    );
    expect(run.stderr.trim()).toBe("armprior: robot check of 'scene' in simulation: 5 problems");
  }, 120_000);

  it('bad input: a file that is not an arm, a missing MJCF, a bad name given or taken from the file; nothing is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-robot-init-'));
    writeFileSync(join(dir, 'broken.xml'), '<mujoco><worldbody><body name="a"></worldbody></mujoco>');
    const broken = await runCli(['robot', 'init', 'broken.xml'], {}, undefined, dir);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/^armprior: MuJoCo could not load the robot MJCF .*broken\.xml: /);
    const missing = await runCli(['robot', 'init', 'nowhere.xml'], {}, undefined, dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nowhere.xml');
    const named = await runCli(['robot', 'init', 'broken.xml', '--name', '../up'], {}, undefined, dir);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain("expected letters, digits, '_', '.' or '-', got '../up'");
    writeFileSync(join(dir, 'my arm.xml'), '<mujoco/>');
    const spaced = await runCli(['robot', 'init', 'my arm.xml'], {}, undefined, dir);
    expect(spaced.code).toBe(2);
    expect(spaced.stderr.trim()).toBe(
      "armprior: the MJCF's file name 'my arm' is not a robot name (letters, digits, '_', '.' or '-'): pass --name",
    );
    expect(readFileSync(join(dir, 'broken.xml'), 'utf8')).toContain('<mujoco>');
    for (const file of ['broken.yaml', 'nowhere.yaml', '../up.yaml', 'my arm.yaml'])
      expect(() => readFileSync(join(dir, file)), file).toThrow();
  }, 60_000);
});
