import { afterEach, describe, expect, it } from 'vitest';
import { observationLayout } from './contract.js';
import { type ActResult, ControllerLoadError, ControllerSandbox } from './sandbox.js';

/** Push's layout: ee (3+3), object (12); goal 3; action 3. */
const layout = observationLayout(
  [
    { name: 'eePosition', size: 3, unit: 'm', description: '' },
    { name: 'eeVelocity', size: 3, unit: 'm/s', description: '' },
    { name: 'objectPosition', size: 3, unit: 'm', description: '' },
    { name: 'gripperWidth', size: 1, unit: 'm', description: '' },
  ],
  [{ name: 'goalPosition', size: 3, unit: 'm', description: '' }],
  3,
);
const observation = Float64Array.from([0, 0, 0.2, 0, 0, 0, 0.1, 0.05, 0.02, 0.08]);
const achieved = Float64Array.from([0.1, 0.05, 0.02]);
const desired = Float64Array.from([0.2, -0.1, 0.02]);

let sandbox: ControllerSandbox | undefined;
afterEach(() => {
  sandbox?.dispose();
  sandbox = undefined;
});

function load(code: string, limits = {}): ControllerSandbox {
  sandbox = ControllerSandbox.create(code, layout, { dtSec: 0.04, maxSteps: 50, limits });
  sandbox.startEpisode();
  return sandbox;
}

function failure(result: ActResult): { kind: string; message: string; fatal: boolean } {
  if (result.ok) throw new Error(`expected a failure, got ${Array.from(result.action)}`);
  return result;
}

describe('ControllerSandbox', () => {
  it('gives act the named observation, the goals, ctx and the helpers', () => {
    const s = load(`export function act(obs, ctx) {
      ctx.memory.calls = (ctx.memory.calls ?? 0) + 1;
      return [obs.objectPosition[0] + obs.gripperWidth, vec.dist(obs.achievedGoal, obs.desiredGoal), ctx.memory.calls + ctx.step * 10 + ctx.dt];
    }`);
    const first = s.act(observation, achieved, desired, 0);
    if (!first.ok) throw new Error(first.message);
    [0.1 + 0.08, Math.hypot(0.1, 0.15), 1 + 0.04].forEach((v, i) => {
      expect(first.action[i]).toBeCloseTo(v, 12);
    });
    const second = s.act(observation, achieved, desired, 1);
    expect(second.ok && second.action[2]).toBeCloseTo(2 + 10 + 0.04, 12);
    s.startEpisode(); // memory is per episode
    const third = s.act(observation, achieved, desired, 0);
    expect(third.ok && third.action[2]).toBeCloseTo(1.04, 12);
  });

  it('tells whether the controller has kept anything in ctx.memory, in any episode', () => {
    const closedLoop = load(
      'export function act(obs, ctx) { const seen = ctx.memory.phase; return [0, 0, seen ? 1 : 0]; }',
    );
    for (let step = 0; step < 3; step++) closedLoop.act(observation, achieved, desired, step);
    expect(closedLoop.keepsMemory()).toBe(false);
    closedLoop.dispose();
    const planner = load(`export function act(obs, ctx) {
      if (ctx.step === 1) ctx.memory.phase = 'lower';
      return [0, 0, 0];
    }`);
    planner.act(observation, achieved, desired, 0);
    expect(planner.keepsMemory()).toBe(false);
    planner.act(observation, achieved, desired, 1);
    expect(planner.keepsMemory()).toBe(true);
    planner.startEpisode(); // the memory is new, what the controller does with it is known
    planner.act(observation, achieved, desired, 0);
    expect(planner.keepsMemory()).toBe(true);
  });

  it('accepts `towards` and typed arrays as results', () => {
    const s = load(
      'export function act(obs) { return new Float32Array(towards(obs.eePosition, obs.objectPosition, 5)); }',
    );
    const r = s.act(observation, achieved, desired, 0);
    expect(r.ok && Array.from(r.action)).toEqual([0.5, 0.25, -0.9].map((x) => Math.fround(x)));
  });

  it.each([
    ['an endless loop', 'export function act() { while (true) {} }', 'timeout'],
    ['endless recursion', 'export function act() { const f = (n) => f(n + 1) + 1; return f(0); }', 'threw'],
    ['a throw', "export function act() { throw new Error('boom'); }", 'threw'],
    ['process.exit', 'export function act() { process.exit(1); }', 'threw'],
    [
      "require('fs')",
      "export function act() { return require('fs').readFileSync('/etc/passwd', 'utf8'); }",
      'threw',
    ],
    ['dynamic import()', "export function act() { import('fs'); return [0, 0, 0]; }", 'threw'],
    [
      'a constructor chain to the host',
      "export function act(obs) { return obs.constructor.constructor('return process')().exit(3); }",
      'threw',
    ],
    [
      'globalThis tricks',
      "export function act() { return globalThis.process.mainModule.require('child_process'); }",
      'threw',
    ],
    ['NaN', 'export function act() { return [Number.NaN, 0, 0]; }', 'bad-output'],
    ['Infinity', 'export function act() { return [0, Infinity, 0]; }', 'bad-output'],
    ['the wrong number of values', 'export function act() { return [0, 0]; }', 'bad-output'],
    ['a non-array', "export function act() { return 'left'; }", 'bad-output'],
    ['a promise', 'export async function act() { return [0, 0, 0]; }', 'bad-output'],
    // Controller source under test, not armprior code: the sandbox must refuse Math.random so
    // controllers stay deterministic (the run's seeded RNG is the only randomness).
    ['Math.random', 'export function act() { return [Math.random(), 0, 0]; }', 'threw'],
  ])('fails one call safely on %s', (_, code, kind) => {
    const s = load(code);
    const f = failure(s.act(observation, achieved, desired, 0));
    expect(f.kind).toBe(kind);
    expect(f.fatal).toBe(false);
    // The host process is untouched and the sandbox still answers.
    expect(process.exitCode ?? 0).toBe(0);
    expect(s.act(observation, achieved, desired, 1).ok).toBe(false);
  });

  it('has no host objects to reach for', () => {
    const s = load(`export function act() {
      return [['process', 'require', 'module', 'Buffer', 'fetch', 'setTimeout', 'queueMicrotask'].filter((n) => typeof globalThis[n] !== 'undefined').length, 0, 0];
    }`);
    const r = s.act(observation, achieved, desired, 0);
    expect(r.ok && r.action[0]).toBe(0);
  });

  it('kills a controller that allocates without bound, and says so on every later call', () => {
    const s = load(
      'export function act() { const keep = []; for (;;) keep.push(new Array(1e6).fill(1.5)); }',
      {
        memoryLimitMb: 16,
        callTimeoutMs: 5000,
      },
    );
    const f = failure(s.act(observation, achieved, desired, 0));
    expect(f.kind).toBe('memory');
    expect(f.fatal).toBe(true);
    expect(failure(s.act(observation, achieved, desired, 1)).kind).toBe('memory');
  });

  it.each([
    ['a syntax error', 'export function act( { return [0, 0, 0] }', /does not compile/],
    [
      'an import',
      "import fs from 'fs';\nexport function act() { return [0, 0, 0]; }",
      /imports 'fs'.*cannot import/,
    ],
    ['no act export', 'export const speed = 1;', /must export a function act/],
    [
      'an endless loop at load',
      'while (true) {}\nexport function act() { return [0, 0, 0]; }',
      /failed while loading/,
    ],
  ])('refuses to load code with %s', (_, code, message) => {
    expect(() => load(code)).toThrow(ControllerLoadError);
    expect(() => load(code)).toThrow(message);
  });
});
