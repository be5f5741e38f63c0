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

  it('returns a frozen, typed object for a valid file', () => {
    const cfg = loadYamlConfig(tempFile('steps: 3\nname: a\nrate: 0.5\n'), Schema);
    expect(cfg).toEqual({ steps: 3, name: 'a', rate: 0.5 });
    expect(Object.isFrozen(cfg)).toBe(true);
  });
});
