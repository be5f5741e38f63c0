import { describe, expect, it } from 'vitest';
import { boundText, MAX_UNTRUSTED_TEXT_CHARS } from './bounded-text.js';

describe('boundText', () => {
  it('keeps short text as it is', () => {
    expect(boundText('act() threw: boom')).toBe('act() threw: boom');
  });

  it('cuts long text to the bound and says how much was left out', () => {
    const cut = boundText('E'.repeat(8 * 1024 * 1024));
    expect(cut.length).toBeLessThanOrEqual(MAX_UNTRUSTED_TEXT_CHARS);
    const left = Number(/\[(\d+) more characters cut\]$/.exec(cut)?.[1]);
    expect(cut.indexOf(' …') + left).toBe(8 * 1024 * 1024);
  });

  it('never splits a surrogate pair', () => {
    const cut = boundText('😀'.repeat(100), 60);
    expect(cut.length).toBeLessThanOrEqual(60);
    expect(cut.split(' …')[0]).toMatch(/^(😀)+$/u);
  });
});
