import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { observationLayout } from '../../contract/controller-contract.js';
import { MAX_TEXT_CHARS } from '../../core/bounded-text.js';
import { ControllerSandbox } from './controller-sandbox.js';
import { type ActResult, ControllerLoadError } from './types.js';

/** Push's layout: ee (3+3), object (3), gripper (1); goal 3; action 3. */
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

const open: ControllerSandbox[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.dispose();
});

/** Loads `code`; calls may take seconds (a loaded machine), unless a test is about time. */
async function load(code: string, limits = {}): Promise<ControllerSandbox> {
  const sandbox = await ControllerSandbox.create(code, layout, {
    dtSec: 0.04,
    maxSteps: 50,
    limits: { callTimeoutMs: 5000, loadTimeoutMs: 5000, ...limits },
  });
  open.push(sandbox);
  return sandbox;
}

const act = (s: ControllerSandbox, step: number, newEpisode = step === 0, signal?: AbortSignal) =>
  s.act(observation, achieved, desired, step, newEpisode, signal);

function failure(result: ActResult): { kind: string; message: string; fatal: boolean } {
  if (result.ok) throw new Error(`expected a failure, got ${Array.from(result.action)}`);
  return result;
}

/**
 * A controller whose every call is one long C++ call the isolate's timeout cannot interrupt:
 * sorting a copy of 3.5 M floats (0.7–2 s here). The data is made with C++ copies, in a few ms.
 */
const UNINTERRUPTIBLE =
  'const big = new Float32Array(3.5e6); for (let i = 0; i < 4096; i++) big[i] = Math.sin(i * 7919); for (let n = 4096; n < big.length; n *= 2) big.copyWithin(n, 0, n); export function act() { big.slice().sort(); return [0, 0, 0]; }';

/** The host's resident memory (MiB). */
const rssMb = () => process.memoryUsage().rss / 2 ** 20;

describe('ControllerSandbox', () => {
  it('gives act the named observation, the goals, ctx and the helpers', async () => {
    const s = await load(`export function act(obs, ctx) {
      ctx.memory.calls = (ctx.memory.calls ?? 0) + 1;
      return [obs.objectPosition[0] + obs.gripperWidth, vec.dist(obs.achievedGoal, obs.desiredGoal), ctx.memory.calls + ctx.step * 10 + ctx.dt];
    }`);
    const first = await act(s, 0);
    if (!first.ok) throw new Error(first.message);
    [0.1 + 0.08, Math.hypot(0.1, 0.15), 1 + 0.04].forEach((v, i) => {
      expect(first.action[i]).toBeCloseTo(v, 12);
    });
    const second = await act(s, 1);
    expect(second.ok && second.action[2]).toBeCloseTo(2 + 10 + 0.04, 12);
    const third = await act(s, 0, true); // memory is per episode
    expect(third.ok && third.action[2]).toBeCloseTo(1.04, 12);
  });

  it('tells whether the controller has kept anything in ctx.memory, in any episode', async () => {
    const closedLoop = await load(
      'export function act(obs, ctx) { const seen = ctx.memory.phase; return [0, 0, seen ? 1 : 0]; }',
    );
    for (let step = 0; step < 3; step++) await act(closedLoop, step);
    expect(closedLoop.keepsMemory()).toBe(false);
    const planner = await load(`export function act(obs, ctx) {
      if (ctx.step === 1) ctx.memory.phase = 'lower';
      return [0, 0, 0];
    }`);
    await act(planner, 0);
    expect(planner.keepsMemory()).toBe(false);
    await act(planner, 1);
    expect(planner.keepsMemory()).toBe(true);
    await act(planner, 0, true); // the memory is new, what the controller does with it is known
    expect(planner.keepsMemory()).toBe(true);
  });

  it('accepts `towards` and typed arrays as results', async () => {
    const s = await load(
      'export function act(obs) { return new Float32Array(towards(obs.eePosition, obs.objectPosition, 5)); }',
    );
    const r = await act(s, 0);
    expect(r.ok && Array.from(r.action)).toEqual([0.5, 0.25, -0.9].map((x) => Math.fround(x)));
  });

  it.each([
    ['an endless loop', 'export function act() { while (true) {} }', 'timeout', { callTimeoutMs: 100 }],
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
    [
      'a 6 × 256 MiB allocation',
      'export function act() { const keep = []; for (let i = 0; i < 6; i++) keep.push(new Uint8Array(256 * 2 ** 20)); return [0, 0, 0]; }',
      'threw',
    ],
    // Controller source under test, not armprior code: the sandbox must refuse every source of
    // entropy and time so controllers stay deterministic (the run's seeded RNG is the only randomness).
    ['Math.random', 'export function act() { return [Math.random(), 0, 0]; }', 'threw'],
    ['Date.now', 'export function act() { return [Date.now() % 2, 0, 0]; }', 'threw'],
    ['new Date()', 'export function act() { return [new Date().getTime() % 2, 0, 0]; }', 'threw'],
    ['Date()', 'export function act() { return [Date().length % 2, 0, 0]; }', 'threw'],
    [
      'Intl.DateTimeFormat().format()',
      'export function act() { return [new Intl.DateTimeFormat().format().length % 2, 0, 0]; }',
      'threw',
    ],
    [
      'WebAssembly',
      'export function act() { new WebAssembly.Memory({ initial: 1 }); return [0, 0, 0]; }',
      'threw',
    ],
  ] as [string, string, string, { callTimeoutMs: number }?][])(
    'fails one call safely on %s',
    async (_, code, kind, limits) => {
      const s = await load(code, limits);
      const f = failure(await act(s, 0));
      expect(f.kind).toBe(kind);
      expect(f.fatal).toBe(false);
      // The sandbox still answers.
      expect((await act(s, 1)).ok).toBe(false);
      expect(s.alive).toBe(true);
    },
  );

  it('keeps Date for given times', async () => {
    const s = await load(
      'export function act() { const d = new Date(Date.UTC(2024, 0, 2)); return [d.getUTCDate(), d instanceof Date ? 1 : 0, new Date(0).getTime()]; }',
    );
    const r = await act(s, 0);
    expect(r.ok && Array.from(r.action)).toEqual([2, 1, 0]);
  });

  it('has no host objects to reach for', async () => {
    const s = await load(`export function act() {
      return [['process', 'require', 'module', 'Buffer', 'fetch', 'setTimeout', 'queueMicrotask', 'WebAssembly'].filter((n) => typeof globalThis[n] !== 'undefined').length, 0, 0];
    }`);
    const r = await act(s, 0);
    expect(r.ok && r.action[0]).toBe(0);
  });

  it('ends a controller that allocates without bound, and says so on every later call', async () => {
    const s = await load(
      'export function act() { const keep = []; for (;;) keep.push(new Array(1e6).fill(1.5)); }',
      { memoryLimitMb: 16, callTimeoutMs: 5000 },
    );
    const f = failure(await act(s, 0));
    expect(f.kind).toBe('memory');
    expect(f.fatal).toBe(true);
    expect(failure(await act(s, 1)).kind).toBe('memory');
    expect(s.alive).toBe(false);
  });

  it('survives one allocation past the heap limit, which aborted the whole host before (issue #17)', async () => {
    const s = await load('export function act() { new Array(1e8).fill(0); return [0, 0, 0]; }', {
      callTimeoutMs: 10_000,
    });
    const f = failure(await act(s, 0));
    expect(f.kind).toBe('memory');
    expect(f.fatal).toBe(true);
    expect(f.message).toMatch(/ran out of memory|memory limit/);
    expect(s.alive).toBe(false);
  });

  it('keeps what controller code allocates off the host', async () => {
    const before = rssMb();
    const s = await load(
      'const keep = []; export function act() { try { for (let i = 0; i < 6; i++) keep.push(new Uint8Array(256 * 2 ** 20).fill(1)); } catch {} return [keep.length, 0, 0]; }',
    );
    const r = await act(s, 0);
    // Fewer than 6 fit in the sandbox's process limit, and none of it is the host's memory.
    expect(r.ok && r.action[0]).toBeLessThan(6);
    expect(rssMb() - before).toBeLessThan(100);
  });

  it('kills a call that cannot be interrupted, and the host goes on meanwhile (issue #17)', async () => {
    // Sorting a typed array is one C++ call: the isolate's timeout cannot stop it (0.5 s here).
    const s = await load(UNINTERRUPTIBLE, { callTimeoutMs: 20 });
    let hostTicks = 0;
    const ticker = setInterval(() => hostTicks++, 5);
    const f = failure(await act(s, 0));
    clearInterval(ticker);
    expect(f.kind).toBe('timeout');
    expect(f.fatal).toBe(true);
    expect(f.message).toMatch(/did not return within 120 ms.*killed/);
    expect(hostTicks).toBeGreaterThan(0);
    expect(s.alive).toBe(false);
  });

  it('abandons a call when its signal aborts, killing the process', async () => {
    const s = await load('export function act() { while (true) {} }', { callTimeoutMs: 5000 });
    const abort = new AbortController();
    const pending = act(s, 0, true, abort.signal);
    setTimeout(() => abort.abort('the deadline passed'), 20);
    const f = failure(await pending);
    expect(f.kind).toBe('timeout');
    expect(f.fatal).toBe(true);
    expect(f.message).toBe('act() was abandoned (the deadline passed): its sandbox process was killed');
  });

  it('reports a sandbox process that died as a fatal crash', async () => {
    const s = await load('export function act() { return [0, 0, 0]; }');
    expect((await act(s, 0)).ok).toBe(true);
    process.kill(s.pid!, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const f = failure(await act(s, 1));
    expect(f.kind).toBe('crashed');
    expect(f.fatal).toBe(true);
  });

  it('runs in a process group of its own, so a Ctrl-C meant for the host does not end it', async () => {
    const s = await load('export function act() { return [0, 0, 0]; }');
    // /proc/<pid>/stat: "pid (comm) state ppid pgrp …"
    const group = (pid: number) =>
      Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
    expect(group(s.pid!)).toBe(s.pid);
    expect(group(s.pid!)).not.toBe(group(process.pid));
  });

  it('bounds every message that comes out of controller code', async () => {
    const s = await load("export function act() { throw 'E'.repeat(8 * 1024 * 1024); }");
    const f = failure(await act(s, 0));
    expect(f.kind).toBe('threw');
    expect(f.message.length).toBeLessThanOrEqual(MAX_TEXT_CHARS);
    expect(f.message).toMatch(/characters cut/);
    const bad = await load("export function act() { return [0, 'x'.repeat(8 * 1024 * 1024), 0]; }");
    expect(failure(await act(bad, 0)).message.length).toBeLessThanOrEqual(MAX_TEXT_CHARS);
    const atLoad = load("throw 'E'.repeat(8 * 1024 * 1024);\nexport function act() { return [0, 0, 0]; }");
    await expect(atLoad).rejects.toThrow(ControllerLoadError);
    const error = await atLoad.catch((e: Error) => e);
    expect((error as Error).message.length).toBeLessThanOrEqual(MAX_TEXT_CHARS + 100);
  });

  it('refuses a load that answered only after its deadline, when the kill timer was late', async () => {
    // The host starved (as on an overloaded machine): its clock moved on 10 s between sending the
    // code and reading the answer, and the kill timer had not fired yet.
    let now = performance.now();
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => (now += 10_000));
    try {
      const loading = load('export function act() { return [0, 0, 0]; }', { loadTimeoutMs: 2000 });
      await expect(loading).rejects.toThrow(ControllerLoadError);
      await expect(loading).rejects.toThrow(/did not finish within 4000 ms.*killed/);
    } finally {
      clock.mockRestore();
    }
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
    [
      'an allocation past the heap limit at load',
      'new Array(1e8).fill(0);\nexport function act() { return [0, 0, 0]; }',
      /out of memory/,
      { loadTimeoutMs: 10_000 },
    ],
    [
      'a call that cannot be interrupted at load',
      `${UNINTERRUPTIBLE}\nbig.slice().sort();`,
      /did not finish within 400 ms.*killed/,
      { loadTimeoutMs: 200 },
    ],
  ] as [string, string, RegExp, { loadTimeoutMs?: number }?][])(
    'refuses to load code with %s',
    async (_, code, message, limits = {}) => {
      const loading = load(code, limits);
      await expect(loading).rejects.toThrow(ControllerLoadError);
      await expect(loading).rejects.toThrow(message);
    },
  );
});
