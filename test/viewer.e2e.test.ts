import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/core/paths.js';
import { FakeOpenAiServer } from './support/fake-openai-server.js';
import { decodePng } from './support/png.js';
import { startWorker, stopWorkers } from './support/queue-workers.js';
import { FLAT_REACH, FULL_REACH } from './support/reach-controllers.js';
import { TestRedis } from './support/redis-server.js';
import { cliBin, runCli } from './support/run-cli.js';
import {
  recordReplayFixture,
  writePriorFixture,
  writeRunFixture,
  writeSceneReplayFixture,
} from './support/viewer-fixtures.js';

/**
 * Debian's chromium, or the Chromium binary ARMPRIOR_CHROMIUM names; `npm test` installs Debian's
 * when it is missing (scripts/test-setup.sh). Playwright's own download does not work here.
 */
const CHROMIUM = process.env.ARMPRIOR_CHROMIUM || '/usr/bin/chromium';
/**
 * The closed network refuses Chromium's background connections unless they are switched off.
 * WebGL without a GPU: ANGLE on SwiftShader (Chromium 156 also falls back to it by itself, but
 * newer versions need the explicit opt-in for WebGL on SwiftShader).
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];
const RUN = 'reach__td3__0__20260101-000000';

/** Training small enough for a queued run to end within the test (32 × 32 networks). */
function writeSmallConfig(root: string): string {
  const file = join(root, 'small.yaml');
  writeFileSync(
    file,
    'learningStarts: 200\nevaluation: { everySteps: 300, episodes: 3 }\ncheckpoint: { everySteps: 300, keep: 1 }\ntd3: { hidden: [32, 32], batchSize: 64 }\n',
  );
  return file;
}

/** The 3D canvas as shown: a screenshot of the element, decoded. */
async function canvasPixels(page: Page): Promise<{ distinct: number; pixels: Uint8Array }> {
  const { rgba } = decodePng(await page.locator('[data-testid=scene-canvas]').screenshot());
  const colours = new Set<number>();
  // Colours quantised to 4 bits a channel, so antialiasing does not count as many colours.
  for (let i = 0; i < rgba.length; i += 4)
    colours.add(((rgba[i]! >> 4) << 8) | ((rgba[i + 1]! >> 4) << 4) | (rgba[i + 2]! >> 4));
  return { distinct: colours.size, pixels: rgba };
}

function differingPixels(a: Uint8Array, b: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < a.length; i += 4) {
    if (Math.abs(a[i]! - b[i]!) + Math.abs(a[i + 1]! - b[i + 1]!) + Math.abs(a[i + 2]! - b[i + 2]!) > 30)
      count++;
  }
  return count;
}

const MISSING_CHROMIUM = `the viewer's browser test needs Chromium at ${CHROMIUM}: run the tests with npm test (its setup, scripts/test-setup.sh, installs Debian's chromium) or apt-get install -y chromium`;

// A test of its own, so a missing browser counts as a failed test (vitest counts the tests of a
// suite whose beforeAll throws as skipped) and is never mistaken for a pass.
it('finds the browser the viewer is tested in', () => {
  expect(existsSync(CHROMIUM), MISSING_CHROMIUM).toBe(true);
});

describe('armprior view in a real browser', () => {
  const llm = new FakeOpenAiServer();
  let browser: Browser;
  let page: Page;
  let cli: ChildProcess;
  let url: string;
  let priors: string;
  const pageErrors: string[] = [];
  let cliStderr = '';
  let redis: TestRedis;
  let runsDir: string;
  let experimentId: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING_CHROMIUM);
    if (!existsSync(join(packageRoot(), 'dist', 'viewer', 'app.js'))) {
      throw new Error('the viewer page is not built (dist/viewer/app.js): npm run build');
    }
    const root = mkdtempSync(join(tmpdir(), 'armprior-view-e2e-'));
    priors = join(root, 'priors');
    const runs = join(root, 'runs');
    writePriorFixture(priors, 'reach', FLAT_REACH, { successRate: 0.25 });
    // The arm moves a long way in these episodes, so early and late frames differ visibly.
    const replays = join(priors, 'reach', 'v1', 'replays');
    writeSceneReplayFixture(
      replays,
      0,
      await recordReplayFixture('reach', 5, { steps: 30, actor: 'prior:reach:v1' }),
    );
    writeSceneReplayFixture(
      replays,
      1,
      await recordReplayFixture('reach', 6, { steps: 10, action: [-1, -1, 1], actor: 'prior:reach:v1' }),
    );
    writeRunFixture(runs, RUN, { task: 'reach', algo: 'td3', seed: 0 }, [
      [0, 0],
      [5000, 0.4],
      [10000, 0.9],
    ]);

    // An experiment queued for workers, its runs to train in the same runs folder.
    redis = await TestRedis.start();
    runsDir = runs;
    const queued = await runCli([
      'experiment',
      '--tasks',
      'reach',
      '--algos',
      'td3',
      '--seeds',
      '1',
      '--baseline-steps',
      '300',
      '--held-out',
      '0',
      '--config',
      writeSmallConfig(root),
      '--priors',
      priors,
      '--runs',
      runs,
      '--out',
      join(root, 'experiment'),
      '--queue',
      redis.url,
    ]);
    if (queued.code !== 0) throw new Error(`the experiment was not queued: ${queued.stderr}`);
    experimentId = /experiment (exp-[\w-]+):/.exec(queued.stdout)![1]!;

    await llm.start();
    cli = spawn(
      process.execPath,
      [
        cliBin,
        'view',
        '--port',
        '0',
        '--priors',
        priors,
        '--runs',
        runs,
        '--episodes',
        '3',
        '--queue',
        redis.url,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          OPENAI_BASE_URL: llm.baseUrl,
          OPENAI_API_KEY: 'sk-test-viewer-0123456789',
          ARMPRIOR_LLM_MODEL: 'fake-model',
        },
      },
    );
    cli.stderr?.on('data', (d: Buffer) => {
      cliStderr += d.toString();
    });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      cli.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const match = /armprior view: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (match) resolve(match[1]!);
      });
      cli.on('exit', (code) => reject(new Error(`armprior view exited (${code}): ${cliStderr}`)));
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`${message.text()} (${message.location().url})`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    cli?.kill('SIGINT');
    await llm.stop();
    await redis?.stop();
  });

  it('loads the page and shows a recorded episode in 3D (the canvas is not blank)', async () => {
    await page.goto(url);
    await page.waitForSelector('body[data-ready=true]');
    expect(await page.inputValue('[data-testid=replay-task]')).toBe('reach');
    expect(await page.inputValue('[data-testid=replay-source]')).toBe('prior:v1');
    await page.waitForSelector('[data-testid=episode-info]:not(:empty)');
    expect(await page.textContent('[data-testid=episode-info]')).toContain('prior:reach:v1');
    expect(await page.textContent('[data-testid=frame-readout]')).toContain('frame 0/30');
    // The reward chart: reward and the task's named term, with the cursor.
    expect(await page.locator('[data-testid=reward-chart] polyline').count()).toBe(2);
    expect(await page.textContent('[data-testid=reward-chart]')).toContain('goalDistance');
    const { distinct } = await canvasPixels(page);
    // Background, floor, table, arm links, hand, goal: many colours once lit.
    expect(distinct).toBeGreaterThan(8);
    expect(pageErrors).toEqual([]);
  });

  it('scrubbing to another frame changes the rendered picture', async () => {
    const first = await canvasPixels(page);
    await page.locator('[data-testid=scrub]').fill('30');
    await page.waitForSelector('[data-testid=frame-readout][data-frame="30"]');
    const last = await canvasPixels(page);
    expect(differingPixels(first.pixels, last.pixels)).toBeGreaterThan(500);
    await page.locator('[data-testid=scrub]').fill('0');
    await page.waitForSelector('[data-testid=frame-readout][data-frame="0"]');
    // Back at frame 0, the same picture as before.
    expect(differingPixels(first.pixels, (await canvasPixels(page)).pixels)).toBeLessThan(10);
    // Play at 4×: frames advance by themselves.
    await page.selectOption('[data-testid=speed]', '4');
    await page.click('[data-testid=play]');
    await expect
      .poll(async () => Number(await page.getAttribute('[data-testid=frame-readout]', 'data-frame')), {
        timeout: 30_000,
      })
      .toBeGreaterThan(3);
    await page.click('[data-testid=play]');
    // The other episode of the same source.
    await page.selectOption('[data-testid=replay-episode]', 'priors/reach/v1/episode-000001.json');
    await page.waitForSelector('[data-testid=frame-readout]:has-text("frame 0/10")');
    expect(pageErrors).toEqual([]);
  });

  it('draws learning curves of a selected run', async () => {
    await page.check(`[data-testid="run-${RUN}"]`);
    await page.waitForSelector('[data-testid=curves] svg path');
    expect(await page.textContent('[data-testid=curves]')).toContain('reach · td3');
  });

  it("shows a queued experiment's run waiting, then done by a worker, with its curves", async () => {
    const queue = page.locator(`[data-testid="queued-${experimentId}"]`);
    await queue.waitFor();
    expect(await queue.locator('summary').textContent()).toBe(
      `${experimentId}: 0 of 1 runs done, 0 training`,
    );
    const row = queue.locator('tr', { hasText: 'reach · td3 · seed 0' });
    expect(await row.textContent()).toContain('waiting');
    expect(await row.locator('button').count()).toBe(0);
    const worker = startWorker(redis, runsDir, 'viewer-worker');
    try {
      // The page reads the queue again every 3 s while the experiment is not over.
      await expect
        .poll(async () => queue.locator('summary').textContent(), { timeout: 180_000 })
        .toBe(`${experimentId}: finished (1 of 1 runs done)`);
      expect(await row.textContent()).toContain('done (viewer-worker)');
      // Its folder now exists: the button selects it in the run list, beside the run selected before.
      await row.locator('button', { hasText: 'curves' }).click();
      await expect.poll(async () => page.locator('[data-testid=run-list] input:checked').count()).toBe(2);
      await page.waitForSelector('[data-testid=curves] svg path');
    } finally {
      await stopWorkers([worker]);
    }
    expect(pageErrors).toEqual([]);
  });

  it('feedback regenerates the controller through the LLM and the new version appears in the list', async () => {
    expect(await page.textContent('[data-testid=prior-code]')).toContain('obs.eePosition[2]');
    expect(await page.textContent('[data-testid=prior-evaluation]')).toContain('stopped short');
    llm.enqueue({
      kind: 'reply',
      text: `You are right: the height was never corrected.\n\n\`\`\`javascript\n${FULL_REACH}\n\`\`\`\n`,
    });
    await page.fill('[data-testid=feedback-text]', 'the gripper never moves up or down to the goal');
    await page.click('[data-testid=feedback-submit]');
    await page.waitForSelector('[data-testid=version-v2]', { timeout: 90_000 });
    expect(await page.textContent('[data-testid=feedback-progress]')).toMatch(/v2 stored: success \d+%/);
    expect(await page.textContent('[data-testid=version-v2]')).toContain(
      'from v1: “the gripper never moves up or down to the goal”',
    );
    // The new version is on show, with its diff against v1.
    expect(await page.textContent('[data-testid=prior-code]')).toContain('Head straight for the goal point');
    expect(await page.textContent('[data-testid=prior-diff]')).toContain(
      '+  return towards(obs.eePosition, obs.desiredGoal, 10);',
    );
    // It went through the same round as `armprior prior feedback`: stored with the feedback,
    // the previous code and the rollout summary in the request.
    const sent = JSON.stringify(llm.requests.at(-1)?.body);
    expect(sent).toContain('the gripper never moves up or down to the goal');
    expect(sent).toContain('obs.eePosition[2]');
    expect(readFileSync(join(priors, 'reach', 'v2', 'feedback.md'), 'utf8')).toContain('never moves up');
    expect(JSON.parse(readFileSync(join(priors, 'reach', 'v2', 'meta.json'), 'utf8'))).toMatchObject({
      version: 2,
      parent: 1,
    });
    // Its evaluation episodes were recorded and can be replayed.
    await page.waitForSelector('[data-testid=replay-source] option[value="prior:v2"]', {
      state: 'attached',
      timeout: 30_000,
    });
    await page.selectOption('[data-testid=replay-source]', 'prior:v2');
    await page
      .locator('[data-testid=episode-info]', { hasText: 'prior:reach:v2' })
      .waitFor({ timeout: 30_000 });
    expect(pageErrors).toEqual([]);
  });

  it('stops cleanly on Ctrl-C', async () => {
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    cli.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(cliStderr).toContain('armprior view: stopped');
  });
});
