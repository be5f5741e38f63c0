import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArmEnv } from '../../sim/env.js';
import { FakeOpenAiServer } from '../../test/support/fake-openai-server.js';
import { type ObservationLayout, observationLayout } from '../contract/controller-contract.js';
import type { ChatMessage } from './chat.js';
import { GenerationFailedError, LlmAuthError, PromptInputError } from './errors.js';
import { generateController } from './generate.js';
import { LlmClient } from './llm-client.js';

const KEY = 'sk-test-generate-0123456789';
const GOOD =
  'The plan: go above the cube, then push.\n```javascript\nexport function act(obs, ctx) {\n  return towards(obs.eePosition, obs.objectPosition);\n}\n```\n';
const BETTER =
  '```js\nexport function act(obs, ctx) {\n  return towards(obs.eePosition, obs.desiredGoal);\n}\n```';

let env: ArmEnv;
let layout: ObservationLayout;
let server: FakeOpenAiServer;
let client: LlmClient;

beforeAll(async () => {
  env = await ArmEnv.create({ task: 'push' });
  layout = observationLayout(env.observationFields, env.task.goalFields, env.actionSize);
});

afterAll(() => env.close());

beforeEach(async () => {
  server = new FakeOpenAiServer();
  await server.start();
  client = new LlmClient(
    {
      baseUrl: server.baseUrl,
      model: 'test-model',
      temperature: 0,
      timeoutMs: 2000,
      maxRetries: 0,
      maxTokens: 300,
    },
    { apiKey: KEY },
  );
});

afterEach(async () => {
  await server.stop();
});

function sentMessages(index: number): ChatMessage[] {
  return (server.requests[index]!.body as { messages: ChatMessage[] }).messages;
}

describe('generateController', () => {
  it('sends system + guidelines and the task, and returns the code with its request', async () => {
    server.enqueue({ kind: 'reply', text: GOOD });
    const result = await generateController({ client, task: env.task, layout, maxAttempts: 3 });
    expect(result.code).toContain('return towards(obs.eePosition, obs.objectPosition);');
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]!.problem).toBeUndefined();
    const sent = sentMessages(0);
    expect(sent.map((m) => m.role)).toEqual(['system', 'user']);
    expect(sent[0]!.content).toContain('# Coding guidelines');
    expect(sent[1]!.content).toContain('# Task: push');
    expect(result.request.params.messages).toEqual(sent);
    expect(result.messages).toEqual([...sent, { role: 'assistant', content: GOOD }]);
  });

  it('retries a reply without code, telling the model exactly what was wrong', async () => {
    server.enqueue(
      { kind: 'reply', text: 'I would push the cube toward the goal.' },
      { kind: 'reply', text: GOOD },
    );
    const result = await generateController({ client, task: env.task, layout, maxAttempts: 3 });
    expect(result.attempts.map((a) => a.problem)).toEqual([
      'your reply has no fenced code block; the controller must be in one ```javascript block',
      undefined,
    ]);
    const second = sentMessages(1);
    expect(second).toHaveLength(4);
    expect(second[2]).toEqual({ role: 'assistant', content: 'I would push the cube toward the goal.' });
    expect(second[3]!.role).toBe('user');
    expect(second[3]!.content).toContain('Your reply could not be used: your reply has no fenced code block');
    // The exact request of the accepted reply holds the correction; the history to continue from does not.
    expect(result.request.params.messages).toEqual(second);
    expect(result.messages).toHaveLength(3);
  });

  it('gives up after maxAttempts, listing every problem', async () => {
    server.enqueue(
      { kind: 'reply', text: '```js\nexport function act( {\n```' },
      { kind: 'reply', text: '```js\nfunction act() { return [0, 0, 0]; }\n```' },
    );
    let error: GenerationFailedError | undefined;
    try {
      await generateController({ client, task: env.task, layout, maxAttempts: 2 });
    } catch (e) {
      error = e as GenerationFailedError;
    }
    expect(error).toBeInstanceOf(GenerationFailedError);
    expect(error!.problems).toHaveLength(2);
    expect(error!.problems[0]).toMatch(/does not parse/);
    expect(error!.problems[1]).toMatch(/does not export a function named `act`/);
    expect(error!.message).toMatch(/in 2 attempts:\n {2}1\. .*parse.*\n {2}2\. .*act/s);
    expect(error!.replies).toHaveLength(2);
    expect(server.requests).toHaveLength(2);
  });

  it('tells the model when an unusable reply hit the token limit', async () => {
    server.enqueue(
      { kind: 'reply', text: '```js\nexport function act(obs, ctx) {\n  const', finishReason: 'length' },
      { kind: 'reply', text: GOOD },
    );
    const result = await generateController({ client, task: env.task, layout, maxAttempts: 2 });
    expect(result.attempts[0]!.problem).toMatch(/never closed.*reached the limit of 300 tokens/);
  });

  it('accepts TypeScript and returns the transpiled module', async () => {
    server.enqueue({
      kind: 'reply',
      text: '```ts\nexport function act(obs: { eePosition: number[] }): number[] {\n  return [0, 0, -1];\n}\n```',
    });
    const result = await generateController({ client, task: env.task, layout, maxAttempts: 1 });
    expect(result.extracted.language).toBe('typescript');
    expect(result.code).toContain('function act(obs)');
    expect(result.code).not.toContain('number[]');
  });

  it('runs a feedback round on the conversation, with the previous code, feedback and summary', async () => {
    server.enqueue({ kind: 'reply', text: GOOD }, { kind: 'reply', text: BETTER });
    const first = await generateController({ client, task: env.task, layout, maxAttempts: 1, stream: true });
    const progress: [number, number][] = [];
    const second = await generateController({
      client,
      task: env.task,
      layout,
      history: first.messages,
      feedback: 'it pushes the cube away from the goal',
      rolloutSummary: 'success 0/20; the cube ends 0.21 m from the goal on average',
      maxAttempts: 1,
      stream: true,
      onProgress: (chars, attempt) => progress.push([chars, attempt]),
    });
    expect(second.code).toContain('obs.desiredGoal');
    const sent = sentMessages(1);
    expect(sent.slice(0, 3)).toEqual(first.messages);
    const feedback = sent[3]!.content;
    expect(feedback).toContain(first.code.trim());
    expect(feedback).toContain('it pushes the cube away from the goal');
    expect(feedback).toContain('success 0/20');
    expect(progress.at(-1)).toEqual([BETTER.length, 1]);
    expect(second.messages).toHaveLength(5);
  });

  it('does not retry failures of the endpoint: the client already did', async () => {
    server.enqueue({ kind: 'error', status: 401 });
    await expect(
      generateController({ client, task: env.task, layout, maxAttempts: 3 }),
    ).rejects.toBeInstanceOf(LlmAuthError);
    expect(server.requests).toHaveLength(1);
  });

  it('refuses contradictory options before calling the endpoint', async () => {
    const base = { client, task: env.task, layout };
    await expect(generateController({ ...base, maxAttempts: 0 })).rejects.toBeInstanceOf(PromptInputError);
    await expect(generateController({ ...base, maxAttempts: 1, feedback: 'x' })).rejects.toThrow(
      /needs the conversation/,
    );
    const history: ChatMessage[] = [{ role: 'user', content: 'hi' }];
    await expect(generateController({ ...base, maxAttempts: 1, history })).rejects.toThrow(/needs feedback/);
    await expect(generateController({ ...base, maxAttempts: 1, history, feedback: 'x' })).rejects.toThrow(
      /no assistant reply/,
    );
    expect(server.requests).toHaveLength(0);
  });
});
