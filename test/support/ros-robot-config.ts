import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { packageRoot } from '../../src/core/paths.js';

/** The repository root. */
export const repoRoot = packageRoot();

/**
 * Writes a robot YAML into `dir`: the built-in panda.yaml with `mjcf` made absolute and the given
 * `ros:` section (and safety overrides), and returns its path for loadRobotConfig.
 */
export function writeRosRobotYaml(
  dir: string,
  ros: Record<string, unknown>,
  options: { readonly name?: string; readonly safety?: Record<string, unknown> } = {},
): string {
  const base = parse(readFileSync(join(repoRoot, 'config/robots/panda.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  const doc = {
    ...base,
    name: options.name ?? 'panda-test',
    mjcf: join(repoRoot, 'sim/assets/panda.xml'),
    ...(options.safety ? { safety: options.safety } : {}),
    ros,
  };
  const file = join(dir, `${options.name ?? 'panda-test'}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs` (generous: no timing assertions). */
export async function waitFor(
  what: string,
  condition: () => boolean,
  { timeoutMs = 60_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The Panda's joints as published by a ROS driver (arm, then fingers). */
export const PANDA_ROS_JOINTS = [
  'joint1',
  'joint2',
  'joint3',
  'joint4',
  'joint5',
  'joint6',
  'joint7',
  'finger_joint1',
  'finger_joint2',
] as const;
