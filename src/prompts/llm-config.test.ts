import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { LlmMissingKeyError } from './errors.js';
import { createLlmClient } from './llm-client.js';
import { loadLlmConfig, readApiKey } from './llm-config.js';

const KEY = 'sk-test-config-0123456789abcdef';

function tempConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'armprior-llm-')), 'llm.yaml');
  writeFileSync(file, text);
  return file;
}

describe('LLM config', () => {
  it('loads config/llm.yaml: every field, frozen, and no key', () => {
    const config = loadLlmConfig({ env: {} });
    expect(Object.keys(config).sort()).toEqual(
      ['baseUrl', 'maxRetries', 'maxTokens', 'model', 'temperature', 'timeoutMs'].sort(),
    );
    expect(Object.isFrozen(config)).toBe(true);
    expect(config.timeoutMs).toBeGreaterThan(0);
  });

  it('lets OPENAI_BASE_URL and ARMPRIOR_LLM_MODEL replace the file; the key stays out of it', () => {
    const config = loadLlmConfig({
      env: {
        OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
        ARMPRIOR_LLM_MODEL: 'qwen2.5-coder:14b',
        OPENAI_API_KEY: KEY,
      },
    });
    expect(config.baseUrl).toBe('http://127.0.0.1:11434/v1');
    expect(config.model).toBe('qwen2.5-coder:14b');
    expect(JSON.stringify(config)).not.toContain(KEY);
  });

  it('names the environment variable behind a bad value', () => {
    expect(() => loadLlmConfig({ env: { OPENAI_BASE_URL: 'localhost:8080' } })).toThrow(ConfigError);
    expect(() => loadLlmConfig({ env: { OPENAI_BASE_URL: 'localhost:8080' } })).toThrow(
      /with OPENAI_BASE_URL from the environment.*baseUrl: must be an http\(s\) URL/s,
    );
  });

  it('refuses a user name and password in the base URL, showing it with the password masked', () => {
    const env = { OPENAI_BASE_URL: 'http://user:pa55-w0rd-cfg@127.0.0.1:8080/v1', OPENAI_API_KEY: KEY };
    let error: unknown;
    try {
      createLlmClient({ env });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('with OPENAI_BASE_URL from the environment');
    expect(message).toContain(
      'baseUrl: must not hold a user name or password (http://user:***@127.0.0.1:8080/v1)',
    );
    expect(message).not.toContain('pa55-w0rd-cfg');
    expect(() => loadLlmConfig({ env: { OPENAI_BASE_URL: 'http://user@127.0.0.1:8080/v1' } })).toThrow(
      /must not hold a user name or password/,
    );
  });

  it('reports every problem of a bad file at once, an unknown apiKey field included', () => {
    const file = tempConfig(
      'baseUrl: ftp://x\nmodel: ""\ntemperature: 5\ntimeoutMs: 0\nmaxRetries: 2\nmaxTokens: 10\napiKey: x\n',
    );
    let error: ConfigError | undefined;
    try {
      loadLlmConfig({ file, env: {} });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const fields = error!.problems.map((p) => p.split(':')[0]);
    for (const field of ['baseUrl', 'model', 'temperature', 'timeoutMs', '(top level)'])
      expect(fields).toContain(field);
    expect(error!.message).toContain('apiKey');
  });

  it('reads the key from OPENAI_API_KEY only, blank meaning none', () => {
    expect(readApiKey({ OPENAI_API_KEY: ` ${KEY} ` })).toBe(KEY);
    expect(readApiKey({ OPENAI_API_KEY: '  ' })).toBeUndefined();
    expect(readApiKey({})).toBeUndefined();
  });

  it('builds a client from config and environment, and says how to set a missing key', () => {
    expect(() => createLlmClient({ env: {} })).toThrow(LlmMissingKeyError);
    expect(() => createLlmClient({ env: {} })).toThrow(/set OPENAI_API_KEY/);
    const client = createLlmClient({ env: { OPENAI_API_KEY: KEY, ARMPRIOR_LLM_MODEL: 'm' } });
    expect(client.config.model).toBe('m');
  });
});
