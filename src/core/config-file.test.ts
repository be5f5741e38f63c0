import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadYamlConfig, parseConfig } from './config-file.js';
import { ConfigError } from './errors.js';

const Schema = z
  .object({ steps: z.number().int().positive(), name: z.string(), rate: z.number().max(1) })
  .strict();

function tempFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'armprior-config-')), 'c.yaml');
  writeFileSync(file, text);
  return file;
}

describe('config files', () => {
  it('reports every problem at once, each with its field path', () => {
    const error = (() => {
      try {
        parseConfig('x.yaml', { steps: -1, rate: 3, extra: true }, Schema);
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems.length).toBe(4);
    expect(error.message).toContain('x.yaml');
    for (const field of ['steps', 'name', 'rate', 'extra']) expect(error.message).toContain(field);
  });

  it('names the file and the line of a YAML syntax error', () => {
    const file = tempFile('steps: 3\nname: [unclosed\n');
    expect(() => loadYamlConfig(file, Schema)).toThrow(ConfigError);
    expect(() => loadYamlConfig(file, Schema)).toThrow(new RegExp(`${file}.*YAML syntax`, 's'));
  });

  it('names a file that cannot be read', () => {
    expect(() => loadYamlConfig('/nonexistent/armprior.yaml', Schema)).toThrow(
      /nonexistent\/armprior.yaml.*ENOENT/,
    );
  });

  it('refuses a YAML alias bomb as a config error naming the file (issue #17 §4)', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const file = tempFile(`${levels.join('\n')}\n`);
    expect(() => loadYamlConfig(file, Schema)).toThrow(ConfigError);
    expect(() => loadYamlConfig(file, Schema)).toThrow(
      new RegExp(`^${file}: YAML aliases expand to more than 100 copies`),
    );
    // A config that uses a few aliases is fine.
    const fine = tempFile('name: &n a\nsteps: 3\nrate: 0.5\nalso: *n\n');
    expect(() => loadYamlConfig(fine, Schema.extend({ also: z.string() }))).not.toThrow();
  });

  it('refuses a device or a file too large for a config without reading it all (issue #17 §4)', () => {
    expect(() => loadYamlConfig('/dev/zero', Schema)).toThrow(
      /^\/dev\/zero: cannot read the file \(not a regular file: a character device\)$/,
    );
    const big = tempFile(`name: ${'x'.repeat(5 * 2 ** 20)}\n`);
    expect(() => loadYamlConfig(big, Schema)).toThrow(/cannot read the file \(larger than 4 MiB/);
  });

  it('returns a frozen, typed object for a valid file', () => {
    const cfg = loadYamlConfig(tempFile('steps: 3\nname: a\nrate: 0.5\n'), Schema);
    expect(cfg).toEqual({ steps: 3, name: 'a', rate: 0.5 });
    expect(Object.isFrozen(cfg)).toBe(true);
  });
});
