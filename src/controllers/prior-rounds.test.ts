import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as fsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeOpenAiServer } from '../../test/support/fake-openai-server.js';
import { failFreshWrites } from '../../test/support/full-disk-writes.js';
import { FLAT_REACH, FULL_REACH } from '../../test/support/reach-controllers.js';
import { DiskFullError } from '../core/errors.js';
import type { ChatMessage } from '../prompts/chat.js';
import { LlmClient } from '../prompts/llm-client.js';
import { evaluationSeeds } from './evaluate.js';
import { addRound, feedbackRound } from './prior-rounds.js';
import { PriorStore } from './store.js';

const reply = (code: string) => `Here it is.\n\n\`\`\`javascript\n${code}\n\`\`\`\n`;
/** What a controller's 8 MB `throw` left in files written before failure messages were bounded. */
const HUGE_FAILURE = `threw: ${'E'.repeat(8 * 1024 * 1024)}`;

let server: FakeOpenAiServer;
let store: PriorStore;

beforeEach(async () => {
  server = new FakeOpenAiServer();
  await server.start();
  store = new PriorStore(mkdtempSync(join(tmpdir(), 'armprior-rounds-')));
});

afterEach(async () => {
  await server.stop();
  vi.mocked(fsPromises.open).mockReset();
});

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, open: vi.fn(actual.open) };
});

const client = () =>
  new LlmClient(
    {
      baseUrl: server.baseUrl,
      model: 'test-model',
      temperature: 0,
      timeoutMs: 5000,
      maxRetries: 0,
      maxTokens: 300,
    },
    { apiKey: 'sk-test-rounds-0123456789' },
  );

/** v1 of reach, evaluated on 2 episodes, with an evaluation.json and conversation as an old round left them. */
function storeOldVersion(): void {
  const summary = `success rate: 0/2 (0%)\ncontroller errors: 10 failed act() calls\n  e.g. episode seed 1000, step 0: ${HUGE_FAILURE}`;
  const conversation: ChatMessage[] = [
    { role: 'system', content: 'You write controllers.' },
    { role: 'user', content: 'Write a reach controller.' },
    { role: 'assistant', content: reply(FLAT_REACH) },
    { role: 'user', content: `A summary of its rollouts:\n\n${summary}` },
    { role: 'assistant', content: reply(FLAT_REACH) },
  ];
  store.create(
    'reach',
    {
      code: FLAT_REACH,
      reply: reply(FLAT_REACH),
      request: null,
      source: 'llm',
      files: { 'conversation.json': JSON.stringify(conversation) },
    },
    {
      successRate: 0,
      episodes: 2,
      seeds: evaluationSeeds(2),
      meanReturn: -10,
      summary,
      perEpisode: [{ seed: 1000, abortReason: HUGE_FAILURE }],
    },
  );
}

describe('feedback rounds read stored text bounded (issue #17)', () => {
  it('builds the prompt from the saved evaluation and conversation, with the old 8 MB failure cut', async () => {
    storeOldVersion();
    server.enqueue({ kind: 'reply', text: reply(FULL_REACH) });
    const result = await feedbackRound({
      store,
      client: client(),
      task: 'reach',
      episodes: 2,
      feedback: 'also move up and down',
    });
    expect(result.version).toBe(2);
    expect(result.parent?.evaluation).toMatchObject({ successRate: 0, saved: true });
    const sent = server.requests[0]!.rawBody;
    expect(sent.length).toBeLessThan(100_000);
    const messages = (server.requests[0]!.body as { messages: ChatMessage[] }).messages;
    // The saved summary (not a new evaluation of v1) went to the LLM, its huge line cut.
    expect(messages.at(-1)?.content).toContain('success rate: 0/2 (0%)');
    expect(messages.at(-1)?.content).toMatch(/threw: E+… \[\d+ characters cut\]/);
    expect(messages[3]?.content).toMatch(/threw: E+… \[\d+ characters cut\]/);
    // v1 was not evaluated again: no replays appended, its evaluation.json as it was.
    expect(existsSync(join(store.root, 'reach', 'v1', 'replays'))).toBe(false);
    expect(statSync(join(store.root, 'reach', 'v1', 'evaluation.json')).size).toBeGreaterThan(
      16 * 1024 * 1024,
    );
  });
});

describe('a failed feedback round changes nothing (issue #17)', () => {
  it('on a fresh store: the bundled prior evaluated, the LLM fails, not even a folder is left', async () => {
    server.enqueue({ kind: 'error', status: 400, message: 'no such model' });
    await expect(
      feedbackRound({ store, client: client(), task: 'reach', episodes: 2, feedback: 'lower' }),
    ).rejects.toThrow(/rejected the request/);
    expect(readdirSync(store.root)).toEqual([]);
  });
});

describe('a new version exists only once its evaluation is saved (issue #17)', () => {
  const add = (code: string, onEpisode?: (label: string, done: number) => void) =>
    addRound({
      store,
      task: 'reach',
      episodes: 3,
      source: code,
      language: 'javascript',
      origin: 'test.js',
      ...(onEpisode ? { onEpisode } : {}),
    });

  it('an error during the evaluation leaves no version: the previous one stays active', async () => {
    await add(FLAT_REACH);
    await expect(
      add(FULL_REACH, (_, done) => {
        if (done === 2) throw new Error('the evaluation broke');
      }),
    ).rejects.toThrow('the evaluation broke');
    expect(store.versions('reach')).toEqual([1]);
    expect(store.active('reach')).toBe(1);
    expect(readdirSync(join(store.root, 'reach'))).toEqual(['v1']);
  });

  it('a full disk during the evaluation: a DiskFullError, and nothing half-written', async () => {
    await add(FLAT_REACH);
    const failure = add(FULL_REACH, (_, done) => {
      // The first replay is in: the disk is full for the next one.
      if (done === 1) failFreshWrites(fsPromises.open, (path) => path.includes('/replays/'));
    });
    await expect(failure).rejects.toThrow(DiskFullError);
    await expect(failure).rejects.toThrow(/^no space left on device while writing \/.*episode-000001\.json$/);
    expect(store.active('reach')).toBe(1);
    expect(readdirSync(join(store.root, 'reach'))).toEqual(['v1']);
  });

  it('bounds what a controller says in its evaluation (summary, abort reasons, evaluation.json)', async () => {
    const result = await add(`export function act() { throw 'E'.repeat(100000); }`);
    expect(result.evaluation.summary).toContain('controller errors');
    expect(result.evaluation.summary.length).toBeLessThan(10_000);
    for (const episode of result.evaluation.episodes)
      expect(episode.abortReason?.length ?? 0).toBeLessThan(10_000);
    expect(readFileSync(join(store.root, 'reach', 'v1', 'evaluation.json'), 'utf8').length).toBeLessThan(
      50_000,
    );
  });
});
