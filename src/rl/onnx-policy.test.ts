import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { ArmEnv } from '../../sim/env.js';
import { Rng } from '../core/rng.js';
import { readModelMetadata } from './graph/builder.js';
import { initMlp, mlpReference } from './graph/mlp.js';
import { RunningNormalizer } from './normalizer.js';
import { OnnxPolicy, PolicyLoadError } from './onnx-policy.js';
import { exportPolicy, policyInputFields } from './policy-export.js';
import { policyMetadataFor } from './train/policy-file.js';

const dir = mkdtempSync(join(tmpdir(), 'armprior-policy-'));
const metadata = {
  task: 'push',
  inputSize: 21,
  actionSize: 3,
  observationFields: ['eePosition', 'eeVelocity'],
  algorithm: 'td3',
};

function trainedLikePolicy(rng: Rng) {
  const actor = initMlp([21, 64, 64, 3], rng);
  const normalizer = new RunningNormalizer(21, { clip: 5 });
  normalizer.update(
    Float64Array.from({ length: 21 * 200 }, (_, i) => (i % 21) * 0.1 + rng.normal() * (0.05 + (i % 7) * 0.1)),
    200,
  );
  return { actor, normalizer };
}

describe('exported ONNX policy', () => {
  it('gives the actions of the trained network on normalised inputs (1e-5), with its metadata', async () => {
    const rng = Rng.fromSeed(3);
    const { actor, normalizer } = trainedLikePolicy(rng);
    const file = join(dir, 'policy.onnx');
    writeFileSync(file, exportPolicy(actor, normalizer, metadata));
    const policy = await OnnxPolicy.load(file, { inputSize: 21, actionSize: 3 });
    try {
      expect(policy.metadata).toEqual(metadata);
      for (let k = 0; k < 5; k++) {
        const observation = Float64Array.from({ length: 18 }, () => rng.uniform(-1, 3));
        const goal = Float64Array.from({ length: 3 }, () => rng.uniform(-0.2, 0.2));
        const raw = Float64Array.from([...observation, ...goal]);
        const normalized = new Float64Array(21);
        normalizer.normalize(raw, 1, normalized);
        const expected = mlpReference(actor, normalized, 1, 'tanh');
        const action = await policy.act(observation, goal);
        for (let i = 0; i < 3; i++) expect(Math.abs(action[i]! - expected[i]!)).toBeLessThan(1e-5);
      }
    } finally {
      await policy.close();
    }
  });

  it('refuses a policy whose sizes do not fit the robot, a file that is not ONNX, and a missing file', async () => {
    const rng = Rng.fromSeed(4);
    const { actor, normalizer } = trainedLikePolicy(rng);
    const file = join(dir, 'push-policy.onnx');
    writeFileSync(file, exportPolicy(actor, normalizer, metadata));
    await expect(OnnxPolicy.load(file, { inputSize: 13, actionSize: 4 })).rejects.toThrow(
      /takes 21 inputs and gives 3 actions \(task 'push'\), but this robot\/task has 13 inputs/,
    );
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'not a model at all');
    await expect(OnnxPolicy.load(garbage, { inputSize: 21, actionSize: 3 })).rejects.toThrow(PolicyLoadError);
    await expect(
      OnnxPolicy.load(join(dir, 'missing.onnx'), { inputSize: 21, actionSize: 3 }),
    ).rejects.toThrow(/ENOENT/);
  });

  it('refuses a policy whose graph does not match its metadata, at load (issue #17 §4)', async () => {
    const rng = Rng.fromSeed(5);
    const { actor, normalizer } = trainedLikePolicy(rng);
    // A Push graph (21 inputs) whose metadata claims Reach (9 inputs): accepted before, then
    // "Got: 9 Expected: 21" on the first call.
    const model = onnxProto.onnx.ModelProto.decode(exportPolicy(actor, normalizer, metadata));
    model.metadataProps = model.metadataProps.map((p) =>
      p.key === 'armprior.input_size'
        ? { key: p.key, value: '9' }
        : p.key === 'armprior.task'
          ? { key: p.key, value: 'reach' }
          : p,
    );
    const file = join(dir, 'lying.onnx');
    writeFileSync(file, onnxProto.onnx.ModelProto.encode(model).finish());
    await expect(OnnxPolicy.load(file, { inputSize: 9, actionSize: 3 })).rejects.toThrow(
      new RegExp(
        `^${file}: its metadata says 9 inputs and 3 actions \\(task 'reach'\\), but its graph takes \\[batch, 21\\] and gives \\[batch, 3\\]`,
      ),
    );
    await expect(OnnxPolicy.load(file, { inputSize: 9, actionSize: 3 })).rejects.toThrow(PolicyLoadError);
  });

  it('refuses a device or an oversized file as a policy without reading it whole (issue #17 §4)', async () => {
    await expect(OnnxPolicy.load('/dev/zero', { inputSize: 21, actionSize: 3 })).rejects.toThrow(
      /cannot read the policy \/dev\/zero \(not a regular file: a character device\)/,
    );
  });
});

describe('a self-describing policy (issue #21)', () => {
  it('says in its metadata and doc string how to feed it and what its actions mean; loads back with them', async () => {
    const env = await ArmEnv.create({ task: 'push', robot: 'panda' });
    try {
      const described = policyMetadataFor(env, 'td3');
      const n = described.inputSize;
      const actor = initMlp([n, 16, 3], Rng.fromSeed(5));
      const bytes = exportPolicy(actor, new RunningNormalizer(n, { clip: 5 }), described);
      const raw = readModelMetadata(bytes);
      expect(raw).toMatchObject({
        'armprior.task': 'push',
        'armprior.robot': 'panda',
        'armprior.action_names': 'dx,dy,dz',
        'armprior.action_scale_m': String(env.robot.control.maxEeStepM),
        'armprior.control_period_s': String(env.task.config.ctrlDtSec),
      });
      const sizes = raw['armprior.observation_sizes']!.split(',').map(Number);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
      expect(raw['armprior.observation_fields']!.split(',').at(-1)).toBe('desired_goalPosition');
      const doc = onnxProto.onnx.ModelProto.decode(bytes).docString;
      expect(doc).toContain(`Input 'input': float32 [batch, ${n}]`);
      expect(doc).toContain(`dx, dy, dz × ${env.robot.control.maxEeStepM} m`);
      expect(doc).toContain(`One action every ${env.task.config.ctrlDtSec} s`);
      const file = join(dir, 'described.onnx');
      writeFileSync(file, bytes);
      const fields = policyInputFields(env);
      const policy = await OnnxPolicy.load(file, { inputSize: n, actionSize: 3, fields });
      expect(policy.metadata).toEqual(described);
      await policy.close();
      // Same sizes, other fields (another robot's observation): refused, naming the first that differs.
      const swapped = [fields[1]!, fields[0]!, ...fields.slice(2)];
      await expect(OnnxPolicy.load(file, { inputSize: n, actionSize: 3, fields: swapped })).rejects.toThrow(
        `input field 1 is ${fields[0]!.name}(${fields[0]!.size}) in the file, ${fields[1]!.name}(${fields[1]!.size}) here`,
      );
    } finally {
      env.close();
    }
  });
});
