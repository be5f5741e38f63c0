import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskFullError } from '../core/errors.js';
import { PriorStore, PriorStoreError } from './store.js';

const newStore = () => new PriorStore(mkdtempSync(join(tmpdir(), 'armprior-store-')));
const prior = (code: string) => ({
  code,
  reply: `Here is the controller:\n\`\`\`javascript\n${code}\n\`\`\``,
  request: { model: 'test', messages: [{ role: 'user', content: 'write it' }] },
  source: 'llm' as const,
  model: 'test',
});

describe('PriorStore', () => {
  it('stores numbered versions with their code, request, reply and feedback', () => {
    const store = newStore();
    expect(store.versions('push')).toEqual([]);
    expect(store.active('push')).toBeUndefined();
    expect(store.create('push', prior('export function act() { return [0, 0, 0]; }'))).toBe(1);
    expect(
      store.create('push', {
        ...prior('export function act() { return [1, 0, 0]; }'),
        feedback: 'go right',
        parent: 1,
      }),
    ).toBe(2);
    expect(store.versions('push')).toEqual([1, 2]);
    const v2 = store.read('push', 2);
    expect(v2.code).toContain('[1, 0, 0]');
    expect(v2.feedback).toBe('go right\n');
    expect(v2.meta).toMatchObject({ task: 'push', version: 2, parent: 1, source: 'llm', model: 'test' });
    expect(v2.request).toEqual(prior('').request);
    expect(v2.reply).toContain('```javascript');
    expect(readdirSync(join(store.root, 'push')).filter((n) => n.startsWith('.staging'))).toEqual([]);
  });

  it('never overwrites a version that appeared meanwhile', () => {
    const store = newStore();
    store.create('reach', prior('export function act() { return [0, 0, 0]; }'));
    // Another process created v2 between our listing and our rename.
    mkdirSync(join(store.root, 'reach', 'v2'));
    writeFileSync(join(store.root, 'reach', 'v2', 'controller.js'), 'theirs');
    writeFileSync(join(store.root, 'reach', 'v2', 'meta.json'), '{"version": 2}');
    expect(store.create('reach', prior('export function act() { return [2, 0, 0]; }'))).toBe(3);
    expect(readFileSync(join(store.root, 'reach', 'v2', 'controller.js'), 'utf8')).toBe('theirs');
  });

  it('pins the active version, defaulting to the newest', () => {
    const store = newStore();
    store.create('slide', prior('a'));
    store.create('slide', prior('b'));
    expect(store.active('slide')).toBe(2);
    store.setActive('slide', 1);
    expect(store.active('slide')).toBe(1);
    expect(() => store.setActive('slide', 7)).toThrow(/no version v7.*versions: v1, v2/);
  });

  it('keeps evaluations and reports damaged versions clearly', () => {
    const store = newStore();
    store.create('push', prior('a'));
    store.saveEvaluation('push', 1, { successRate: 0.4 });
    expect(store.read('push', 1).evaluation).toEqual({ successRate: 0.4 });
    writeFileSync(join(store.root, 'push', 'v1', 'meta.json'), '{broken');
    expect(() => store.read('push', 1)).toThrow(PriorStoreError);
    expect(() => store.read('push', 1)).toThrow(/meta.json is not valid JSON/);
    expect(() => store.read('pick-and-place', 1)).toThrow(/no versions yet/);
  });

  it('makes a version in a staging folder that nothing counts until it is published with its evaluation', () => {
    const store = newStore();
    store.create('reach', prior('a'), { successRate: 0.25 });
    const staged = store.stage('reach', prior('b'));
    expect(staged.version).toBe(2);
    expect(readFileSync(join(staged.dir, 'controller.js'), 'utf8')).toBe('b');
    expect(store.versions('reach')).toEqual([1]);
    expect(store.active('reach')).toBe(1);
    expect(() => store.read('reach', 2)).toThrow(/no version v2/);
    store.publish(staged, { successRate: 1 });
    expect(store.versions('reach')).toEqual([1, 2]);
    expect(store.active('reach')).toBe(2);
    expect(store.read('reach', 2).evaluation).toEqual({ successRate: 1 });
    expect(existsSync(staged.dir)).toBe(false);
  });

  it('leaves no version for a discarded or killed one, and never reuses the number of a killed one', () => {
    const store = newStore();
    store.create('reach', prior('a'));
    store.stage('reach', prior('killed: its process died during the evaluation'));
    store.discard(store.stage('reach', prior('failed')));
    expect(store.versions('reach')).toEqual([1]);
    expect(store.active('reach')).toBe(1);
    expect(store.create('reach', prior('next'))).toBe(3);
    expect(store.read('reach', 3).code).toBe('next');
  });

  it.skipIf(!existsSync('/dev/full'))(
    'reports a full disk as one DiskFullError and keeps what was there (/dev/full)',
    () => {
      const store = newStore();
      store.create('reach', prior('a'), { successRate: 0.25 });
      const staged = store.stage('reach', prior('b'));
      // The file the store writes next is /dev/full: a real ENOSPC from the kernel.
      symlinkSync('/dev/full', join(staged.dir, 'evaluation.json'));
      expect(() => store.publish(staged, { successRate: 1 })).toThrow(DiskFullError);
      expect(store.versions('reach')).toEqual([1]);
      expect(store.active('reach')).toBe(1);
      const v1 = join(store.root, 'reach', 'v1');
      symlinkSync('/dev/full', join(v1, `evaluation.json.tmp-${process.pid}`));
      expect(() => store.saveEvaluation('reach', 1, { successRate: 0 })).toThrow(
        `no space left on device while writing ${join(v1, 'evaluation.json')}`,
      );
      expect(store.read('reach', 1).evaluation).toEqual({ successRate: 0.25 });
      expect(readdirSync(v1).sort()).toEqual([
        'controller.js',
        'evaluation.json',
        'meta.json',
        'reply.md',
        'request.json',
      ]);
    },
  );

  it('counts only real folders as versions, and reads no file through a symlink', () => {
    const store = newStore();
    store.create('reach', prior('a'));
    const outside = mkdtempSync(join(tmpdir(), 'armprior-outside-'));
    writeFileSync(join(outside, 'controller.js'), 'outside');
    writeFileSync(join(outside, 'meta.json'), '{"version": 9}');
    writeFileSync(join(outside, 'secret.md'), 'top secret');
    symlinkSync(outside, join(store.root, 'reach', 'v9'));
    expect(store.versions('reach')).toEqual([1]);
    expect(store.active('reach')).toBe(1);
    expect(() => store.read('reach', 9)).toThrow(/no version v9/);
    expect(() => store.setActive('reach', 9)).toThrow(/no version v9/);
    // v9 is taken by something that is not a version: the next one is v10.
    expect(store.create('reach', prior('b'))).toBe(10);
    symlinkSync(join(outside, 'secret.md'), join(store.root, 'reach', 'v1', 'feedback.md'));
    expect(() => store.read('reach', 1)).toThrow(
      /feedback\.md \(a symbolic link, which is not followed here\)/,
    );
  });

  it('bounds controller text in a saved evaluation when it is read back', () => {
    const store = newStore();
    store.create('reach', prior('a'));
    const huge = `threw: ${'E'.repeat(8 * 1024 * 1024)}`;
    // As written before the sandbox bounded failure messages (issue #17).
    writeFileSync(
      join(store.root, 'reach', 'v1', 'evaluation.json'),
      JSON.stringify({
        successRate: 0,
        episodes: 1,
        summary: `success rate: 0/1 (0%)\n  e.g. ${huge}`,
        perEpisode: [{ seed: 1000, abortReason: huge }],
      }),
    );
    const evaluation = store.read('reach', 1).evaluation as {
      successRate: number;
      summary: string;
      perEpisode: { abortReason: string }[];
    };
    expect(evaluation.successRate).toBe(0);
    expect(evaluation.summary).toMatch(/^success rate: 0\/1 \(0%\)\n {2}e\.g\. threw: EEE/);
    expect(evaluation.summary.length).toBeLessThan(2_000);
    expect(evaluation.perEpisode[0]!.abortReason.length).toBeLessThan(2_000);
  });
});
