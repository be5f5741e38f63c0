import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newRunInfo, type RunStatus, runFiles, writeRunConfig, writeRunInfo } from '../train/run-dir.js';
import {
  ExperimentManifest,
  ExperimentManifestError,
  priorIdentity,
  runKey,
  successesOn,
  successRecord,
} from './experiment-manifest.js';

const config = { algo: 'rlingua', totalSteps: 1000, td3: { hidden: [32, 32] } };
const prior = priorIdentity({ label: 'reach v1', code: 'export function act() { return [0, 0, 0]; }' });
const key = runKey('reach', 'rlingua', 0);

/** A run folder as train leaves it: its config, run.json with `status`, and `checkpoints` of them. */
function runFolder(status: RunStatus, checkpoints: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'armprior-manifest-run-'));
  writeRunConfig(dir, config);
  writeRunInfo(dir, { ...newRunInfo('reach', 'panda', 'rlingua', 0), status });
  for (let k = 1; k <= checkpoints; k++) {
    mkdirSync(join(runFiles(dir).checkpoints, `ckpt-${String(500 * k).padStart(10, '0')}`), {
      recursive: true,
    });
  }
  return dir;
}

function manifestWith(runDir: string): ExperimentManifest {
  const out = mkdtempSync(join(tmpdir(), 'armprior-manifest-'));
  const manifest = ExperimentManifest.open(out);
  manifest.set(key, { runDir, wallClockSec: 12, prior });
  return manifest;
}

describe("the experiment's run list", () => {
  it('is empty for a new experiment, and written at each change so a crash keeps what was done', () => {
    const out = mkdtempSync(join(tmpdir(), 'armprior-manifest-'));
    const manifest = ExperimentManifest.open(out);
    expect(manifest.get(key)).toBeUndefined();
    const heldOut = [5_000_000, 5_000_001];
    manifest.set(key, {
      runDir: '/runs/a',
      wallClockSec: 3.5,
      heldOut: successRecord(heldOut, [true, false]),
    });
    const training = [1_000_000, 1_000_001, 1_000_002];
    manifest.setPrior('reach', {
      prior,
      robot: 'panda',
      training: successRecord(training, [true, true, false]),
      heldOut: successRecord(heldOut, [false, true]),
      wallClockSec: 2,
    });
    const reopened = ExperimentManifest.open(out);
    expect(reopened.get(key)!.runDir).toBe('/runs/a');
    expect(successesOn(reopened.get(key)!.heldOut, heldOut)).toEqual([true, false]);
    // Scored on other episodes: not reused.
    expect(successesOn(reopened.get(key)!.heldOut, [6_000_000, 6_000_001])).toBeUndefined();
    expect(successesOn(reopened.get(key)!.heldOut, [5_000_000])).toBeUndefined();
    expect(reopened.prior('reach', 'panda', prior, training, heldOut)).toEqual({
      training: [true, true, false],
      heldOut: [false, true],
      wallClockSec: 2,
    });
    expect(reopened.prior('reach', 'panda', prior, training.slice(1), heldOut)).toBeUndefined();
    const edited = priorIdentity({ label: 'reach v1', code: 'export function act() { return [1, 0, 0]; }' });
    expect(reopened.prior('reach', 'panda', edited, training, heldOut)).toBeUndefined();
    expect(reopened.prior('push', 'panda', prior, training, heldOut)).toBeUndefined();
    expect(reopened.prior('reach', 'robots/ur5.yaml', prior, training, heldOut)).toBeUndefined();
  });

  it('refuses a broken or foreign file by name, and leaves it as it was', () => {
    const out = mkdtempSync(join(tmpdir(), 'armprior-manifest-'));
    const file = join(out, 'runs.json');
    for (const text of [
      '{"version": 1, "runs": {',
      '{"version": 2, "runs": {}}',
      '{"runs": {"a": {"runDir": 3}}}',
    ]) {
      writeFileSync(file, text);
      expect(() => ExperimentManifest.open(out)).toThrow(ExperimentManifestError);
      expect(() => ExperimentManifest.open(out)).toThrow(`${file} is not`);
      expect(readFileSync(file, 'utf8')).toBe(text);
    }
  });

  it('reuses a run that finished with the same config and prior', () => {
    const dir = runFolder('finished', 2);
    expect(manifestWith(dir).plan(key, config, 'panda', prior)).toMatchObject({
      kind: 'reuse',
      entry: { runDir: dir },
    });
  });

  it("reuses a run whose config says `prior: active` (saved before versions were pinned) when the prior's code is the same", () => {
    const pinned = { ...config, rlingua: { prior: 'bundled' } };
    const dir = runFolder('finished', 1);
    writeRunConfig(dir, { ...config, rlingua: { prior: 'active' } });
    expect(manifestWith(dir).plan(key, pinned, 'panda', prior)).toMatchObject({ kind: 'reuse' });
    const edited = priorIdentity({ label: 'reach v1', code: 'export function act() { return [1, 0, 0]; }' });
    expect(manifestWith(dir).plan(key, pinned, 'panda', edited)).toMatchObject({ kind: 'new' });
    // Only `active` stands for another version: a run pinned to v1 is not one pinned to bundled.
    writeRunConfig(dir, { ...config, rlingua: { prior: 'v1' } });
    expect(manifestWith(dir).plan(key, pinned, 'panda', prior)).toEqual({
      kind: 'new',
      why: `${dir} was trained with another config`,
    });
  });

  it('continues a run stopped before its end from its checkpoint, killed or stopped on request', () => {
    for (const status of ['interrupted', 'failed', 'running'] as const) {
      const dir = runFolder(status, 1);
      // `running` with no live process holding its lock: killed outright.
      expect(manifestWith(dir).plan(key, config, 'panda', prior)).toMatchObject({
        kind: 'resume',
        entry: { runDir: dir },
      });
    }
  });

  it('trains anew, saying why, when the listed run cannot stand for the seed', () => {
    expect(
      manifestWith(runFolder('finished', 1)).plan(runKey('reach', 'rlingua', 1), config, 'panda', prior),
    ).toEqual({
      kind: 'new',
    });
    const other = { ...config, totalSteps: 2000 };
    const changed = runFolder('finished', 1);
    expect(manifestWith(changed).plan(key, other, 'panda', prior)).toEqual({
      kind: 'new',
      why: `${changed} was trained with another config`,
    });
    const edited = priorIdentity({ label: 'reach v1', code: 'export function act() { return [1, 0, 0]; }' });
    expect(manifestWith(runFolder('finished', 1)).plan(key, config, 'panda', edited)).toMatchObject({
      kind: 'new',
      why: expect.stringMatching(/learned from another prior \(reach v1\)$/),
    });
    expect(manifestWith(runFolder('finished', 1)).plan(key, config, 'robots/ur5.yaml', prior)).toMatchObject({
      kind: 'new',
      why: expect.stringMatching(/trained robot panda$/),
    });
    const early = runFolder('interrupted', 0);
    expect(manifestWith(early).plan(key, config, 'panda', prior)).toEqual({
      kind: 'new',
      why: `${early} stopped before its first checkpoint`,
    });
    const gone = runFolder('finished', 1);
    const manifest = manifestWith(gone);
    rmSync(gone, { recursive: true });
    expect(manifest.plan(key, config, 'panda', prior)).toEqual({ kind: 'new', why: `${gone} is gone` });
  });
});
