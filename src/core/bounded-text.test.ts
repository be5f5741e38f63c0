import { describe, expect, it } from 'vitest';
import { boundStrings, boundText } from './bounded-text.js';

describe('boundText', () => {
  it('leaves ordinary text as it is', () => {
    const summary = 'success rate: 3/4 (75%)\nfailed episodes:\n  - 1 × stopped short';
    expect(boundText(summary)).toBe(summary);
  });

  it('cuts a huge line but keeps the lines around it, saying how much was cut', () => {
    const text = `success rate: 0/20 (0%)\n  e.g. threw: ${'E'.repeat(8 * 1024 * 1024)}\nlast line`;
    const bounded = boundText(text);
    expect(bounded.length).toBeLessThan(2_000);
    expect(bounded.startsWith('success rate: 0/20 (0%)\n  e.g. threw: EEE')).toBe(true);
    expect(bounded).toContain(`… [${8 * 1024 * 1024 + 14 - 1_000} characters cut]`);
    expect(bounded.endsWith('\nlast line')).toBe(true);
  });

  it('cuts the whole text at its bound, however many lines', () => {
    const text = Array.from({ length: 100_000 }, (_, i) => `line ${i}`).join('\n');
    const bounded = boundText(text, 1_000, 100);
    expect(bounded.length).toBeLessThan(1_100);
    expect(bounded).toMatch(/^line 0\nline 1\n/);
    expect(bounded).toMatch(/… \[cut at 1000 characters: \d+ more\]$/);
  });

  it('bounds every string of a parsed record, keeping its shape and other values', () => {
    const huge = 'E'.repeat(100_000);
    const record = { successRate: 0, summary: huge, perEpisode: [{ seed: 1, abortReason: huge, ok: true }] };
    const bounded = boundStrings(record) as typeof record;
    expect(bounded.successRate).toBe(0);
    expect(bounded.perEpisode[0]!.seed).toBe(1);
    expect(bounded.perEpisode[0]!.ok).toBe(true);
    expect(bounded.summary.length).toBeLessThan(1_100);
    expect(bounded.perEpisode[0]!.abortReason.length).toBeLessThan(1_100);
  });
});

describe('boundText on one long line', () => {
  it('keeps the start of a line longer than the whole bound', () => {
    const bounded = boundText('E'.repeat(8 * 1024 * 1024), 1_000);
    expect(bounded.startsWith('EEEE')).toBe(true);
    expect(bounded.length).toBeLessThan(1_050);
    expect(bounded).toContain(`… [${8 * 1024 * 1024 - 1_000} characters cut]`);
  });

  it('never drops the first line, however small the bound', () => {
    expect(boundText('import-me-please', 5)).toBe('impor… [11 characters cut]');
  });
});
