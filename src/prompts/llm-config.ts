import { z } from 'zod';
import { loadYamlConfig, parseConfig } from '../core/config-file.js';
import { configPath } from '../core/paths.js';

/**
 * `config/llm.yaml`: which endpoint writes the controllers and how it is called. There is no
 * key field on purpose: the key comes from `OPENAI_API_KEY` only ({@link readApiKey}), so it
 * cannot end up in a config file, a run directory or a controller version.
 */
export const LlmConfigSchema = z
  .object({
    /** Base URL of an OpenAI-compatible API, up to and including `/v1`. */
    baseUrl: z
      .url({
        protocol: /^https?$/,
        error: 'must be an http(s) URL, such as https://api.openai.com/v1',
      })
      .superRefine((url, ctx) => {
        const problem = baseUrlCredentialsProblem(url);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
    /** Model name as the endpoint knows it (`gpt-4.1`, `qwen2.5-coder:14b`…). */
    model: z.string().min(1),
    /** Sampling temperature, 0 (most deterministic) to 2. */
    temperature: z.number().min(0).max(2),
    /** Per attempt: time allowed until the response starts and, when streaming, between two pieces (ms). */
    timeoutMs: z.number().int().positive().max(3_600_000),
    /** Retries after a connection failure, a timeout, 429 or 5xx; bounded so a dead endpoint fails soon. */
    maxRetries: z.number().int().min(0).max(10),
    /** Upper bound on the reply's length, in tokens. */
    maxTokens: z.number().int().positive().max(1_000_000),
  })
  .strict();

/** The validated, frozen LLM settings. */
export type LlmConfig = z.output<typeof LlmConfigSchema>;

/** Environment variables read here (a plain record so tests pass their own). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Environment variables that replace config fields. */
const ENV_OVERRIDES = { OPENAI_BASE_URL: 'baseUrl', ARMPRIOR_LLM_MODEL: 'model' } as const;

/**
 * Reads `config/llm.yaml` (or `file`), lets `OPENAI_BASE_URL` and `ARMPRIOR_LLM_MODEL` replace
 * `baseUrl` and `model`, and validates the result once: a bad value from the environment is
 * reported naming the variable. Returns a frozen object without any key.
 */
export function loadLlmConfig(options: { file?: string; env?: Environment } = {}): LlmConfig {
  const file = options.file ?? configPath('llm.yaml');
  const env = options.env ?? process.env;
  // Parse leniently first so the environment can fill a field the file lacks; then validate.
  const fromFile = loadYamlConfig(file, z.record(z.string(), z.unknown()));
  const merged: Record<string, unknown> = { ...fromFile };
  const used: string[] = [];
  for (const [variable, field] of Object.entries(ENV_OVERRIDES)) {
    const value = env[variable]?.trim();
    if (value) {
      merged[field] = value;
      used.push(variable);
    }
  }
  const source = used.length > 0 ? `${file} (with ${used.join(', ')} from the environment)` : file;
  return parseConfig(source, merged, LlmConfigSchema);
}

/**
 * The API key from `OPENAI_API_KEY`, or undefined when unset or blank. Callers hand it straight
 * to `LlmClient`; it is never part of a config object, a record or a message.
 */
export function readApiKey(env: Environment = process.env): string | undefined {
  const key = env.OPENAI_API_KEY?.trim();
  return key ? key : undefined;
}

/**
 * Why a base URL holding a user name or password cannot be used (issue #17), or undefined.
 * Node's fetch refuses to build a request from such a URL, which the `openai` package reports as
 * a failed connection ("cannot connect", with the server up), and every message naming the
 * endpoint would print the password. The message shows the URL with the password masked.
 */
export function baseUrlCredentialsProblem(baseUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return undefined;
  }
  if (url.username === '' && url.password === '') return undefined;
  return `must not hold a user name or password (${withoutPassword(baseUrl)}): Node's fetch refuses such URLs; give the endpoint's key in OPENAI_API_KEY and the URL without credentials`;
}

/** `url` with its user name kept and its password, if any, replaced by `***` (for messages). */
export function withoutPassword(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    if (url.password === '') return baseUrl;
    url.password = '***';
    return url.toString();
  } catch {
    return baseUrl;
  }
}
