import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Validates `value` against `schema` and returns it frozen; every problem is reported at once,
 * each with the path of the offending field, in one {@link ConfigError} naming `source`.
 */
export function parseConfig<S extends z.ZodType>(source: string, value: unknown, schema: S): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      return `${path}: ${issue.message}`;
    });
    throw new ConfigError(source, problems);
  }
  return deepFreeze(result.data);
}

/** Reads a YAML file and validates it (see {@link parseConfig}). YAML syntax errors name line and column. */
export function loadYamlConfig<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      file,
      [`cannot read the file (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`],
      {
        cause,
      },
    );
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`),
    );
  }
  return parseConfig(file, doc.toJS(), schema);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
