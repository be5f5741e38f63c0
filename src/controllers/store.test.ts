import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
