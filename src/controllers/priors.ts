import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArmEnv } from '../../sim/env.js';
import { observationLayout } from '../contract/controller-contract.js';
import { ArmpriorError } from '../core/errors.js';
import { packageRoot } from '../core/paths.js';
import { extractCode } from '../prompts/extract.js';
import { loadSandboxConfig, type SandboxConfig } from './sandbox-config.js';
import { SandboxedController } from './sandboxed-controller.js';
import type { PriorStore } from './store.js';

/** A prior controller's code and where it came from. */
export interface ResolvedPrior {
  task: string;
  /** A version number of the store, or 'bundled'. */
  version: number | 'bundled';
  code: string;
  /** For messages: `push v3`, `push (bundled)`. */
  label: string;
}

/** The reply text a bundled prior is kept as (exactly as an LLM would answer). */
export function bundledReply(task: string): string {
  const file = join(packageRoot(), 'src', 'controllers', 'bundled', `${task}.md`);
  if (!existsSync(file))
    throw new ArmpriorError('prior_missing', `there is no bundled prior for task '${task}'`);
  return readFileSync(file, 'utf8');
}

/**
 * Finds the prior `spec` names for a task: undefined → the active version (pinned, else the
 * newest; the bundled prior when the store has none), `bundled`, `vN` or `N`.
 */
export function resolvePrior(store: PriorStore, task: string, spec?: string): ResolvedPrior {
  const wanted = spec === undefined || spec === '' ? store.active(task) : parseVersion(spec);
  if (wanted === undefined || wanted === 'bundled') {
    return {
      task,
      version: 'bundled',
      code: extractCode(bundledReply(task)).code,
      label: `${task} (bundled)`,
    };
  }
  return { task, version: wanted, code: store.read(task, wanted).code, label: `${task} v${wanted}` };
}

/** `vN`, `N` or `bundled`; anything else is a clear error. */
export function parseVersion(spec: string): number | 'bundled' {
  if (spec === 'bundled') return 'bundled';
  const match = /^v?(\d+)$/.exec(spec.trim());
  if (!match)
    throw new ArmpriorError(
      'prior_version',
      `'${spec}' is not a prior version: use vN (e.g. v3), N or bundled`,
    );
  return Number(match[1]);
}

/** The name a prior's controller reports itself by (in `sim`'s report, a dataset's actor). */
export function priorControllerName(prior: ResolvedPrior): string {
  return `prior ${prior.label}`;
}

/** Loads a resolved prior into a sandbox, driving `env`, with the limits of config/sandbox.yaml. */
export function createPriorController(
  env: Pick<ArmEnv, 'observationFields' | 'actionSize' | 'task'>,
  prior: ResolvedPrior,
  config: SandboxConfig = loadSandboxConfig(),
): Promise<SandboxedController> {
  const layout = observationLayout(env.observationFields, env.task.goalFields, env.actionSize);
  return SandboxedController.create(priorControllerName(prior), prior.code, layout, {
    maxFailuresPerEpisode: config.maxFailuresPerEpisode,
    dtSec: env.task.config.ctrlDtSec,
    maxSteps: env.task.config.maxEpisodeSteps,
    limits: {
      memoryLimitMb: config.memoryLimitMb,
      processMemoryLimitMb: config.processMemoryLimitMb,
      callTimeoutMs: config.callTimeoutMs,
      loadTimeoutMs: config.loadTimeoutMs,
    },
  });
}
