import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, messageOf } from './errors.js';
import { INPUT_LIMITS, InputFileError, readInputText } from './input-file.js';

/**
 * Alias expansions allowed while turning a YAML document into values. yaml's own default (100)
 * throws a bare ReferenceError ("Excessive alias count…"), which reached users as a bug report
 * (issue #17 §4); no armprior config needs more than a few.
 */
const MAX_YAML_ALIAS_COUNT = 100;

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
  return parseConfig(file, readYamlFile(file), schema);
}

/**
 * A YAML file's values, unvalidated: read through the bounded reader (at most
 * {@link INPUT_LIMITS}.config bytes, a regular file only), syntax errors and alias bombs as a
 * {@link ConfigError} naming `file`.
 */
export function readYamlFile(file: string, what = 'the file'): unknown {
  let text: string;
  try {
    text = readInputText(file, { maxBytes: INPUT_LIMITS.config, what });
  } catch (cause) {
    if (cause instanceof InputFileError)
      throw new ConfigError(file, [`cannot read ${what} (${cause.detail})`], { cause });
    throw cause;
  }
  return parseYaml(file, text);
}

/** YAML text to values; syntax errors (with line and column) and alias bombs as a {@link ConfigError} naming `source`. */
export function parseYaml(source: string, text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`),
    );
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (cause) {
    // yaml throws a ReferenceError when aliases expand past the count (a "billion laughs" document).
    if (cause instanceof ReferenceError && /alias/i.test(cause.message)) {
      throw new ConfigError(
        source,
        [`YAML aliases expand to more than ${MAX_YAML_ALIAS_COUNT} copies: refused (${messageOf(cause)})`],
        { cause },
      );
    }
    throw new ConfigError(source, [`YAML: ${messageOf(cause)}`], { cause });
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
