/**
 * Run folders and datasets under the failures of issue #17: a full disk, two processes on one
 * run, a trainer killed outright, a corrupted episode file.
 */
import { execFile, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readDataset } from '../src/episodes/dataset/index.js';
import { readRunLock, runStatus } from '../src/rl/train/run-lock.js';
import { ViewerData } from '../src/viewer/data.js';
import { type CliRun, cliBin, runCli } from './support/run-cli.js';
import { tmpfsSupport } from './support/small-tmpfs.js';

/** A small, fast training config: 32×32 networks, a checkpoint every 500 steps. */
const SMALL = `learningStarts: 500
logEverySteps: 500
evaluation: { everySteps: 500, episodes: 10 }
checkpoint: { everySteps: 500, keep: 3 }
td3: { hidden: [32, 32], batchSize: 64 }
`;

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'armprior-runs-'));
  writeFileSync(join(dir, 'small.yaml'), SMALL);
  return dir;
}

const trainArgs = (ws: string, runs: string, steps: number) => [
  'train',
  '--task',
  'reach',
  '--algo',
  'td3',
  '--steps',
  String(steps),
  '--config',
  join(ws, 'small.yaml'),
  '--runs',
  runs,
  '--json',
];

function onlyRun(runs: string): string {
  const names = readdirSync(runs);
  expect(names).toHaveLength(1);
  return join(runs, names[0]!);
}

/** Every path under `dir` (relative), to look for leftovers. */
function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

/** What a failed write must not leave behind: staging folders, temp files, a lock. */
const LEFTOVER = /\.staging-|\.tmp-|run\.lock/;

/** Runs the CLI in a new user and mount namespace with `mnt` a 64 KiB tmpfs; copies it to `out` after. */
function runCliOnSmallTmpfs(mnt: string, out: string, args: readonly string[]): Promise<CliRun> {
  const script =
    'mnt=$1; out=$2; shift 2; mount -t tmpfs -o size=64k tmpfs "$mnt" || exit 99; "$@"; code=$?; cp -a "$mnt/." "$out/"; exit $code';
  return new Promise((resolve) => {
    execFile(
      'unshare',
      ['-rm', 'sh', '-c', script, 'sh', mnt, out, process.execPath, cliBin, ...args],
      { timeout: 300_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

const tmpfs = tmpfsSupport();

describe('a full disk during train', () => {
  it.skipIf(!tmpfs.ok)(
    `exits 2 with one line naming the checkpoint, run.json failed with it, nothing half-written left${tmpfs.ok ? '' : ` (skipped: ${tmpfs.reason})`}`,
    async () => {
      const ws = workspace();
      const mnt = join(ws, 'mnt');
      const out = join(ws, 'out');
      mkdirSync(mnt);
      mkdirSync(out);
      // 64 KiB hold config.yaml, run.json, run.lock, metrics.jsonl and best-policy.onnx, not the
      // first checkpoint (about 200 KB).
      const result = await runCliOnSmallTmpfs(mnt, out, trainArgs(ws, join(mnt, 'runs'), 600));
      const checkpoint =
        /^armprior: no space left on device while writing (.*\/checkpoints\/ckpt-0000000500)\n$/;
      expect(result.stderr).toMatch(checkpoint);
      expect(result.code).toBe(2);
      const run = onlyRun(join(out, 'runs'));
      const info = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
      expect(info.status).toBe('failed');
      expect(info.message).toBe(result.stderr.slice('armprior: '.length).trim());
      expect(allFiles(run).filter((f) => LEFTOVER.test(f))).toEqual([]);
      expect(readdirSync(join(run, 'checkpoints'))).toEqual([]);
    },
  );

  it('reports the checkpoint that failed, not the run.json that could not say so afterwards', async () => {
    const ws = workspace();
    const runs = join(ws, 'runs');
    // The disk fills up while the first checkpoint is written, and stays full.
    const result = await runCli(trainArgs(ws, runs, 600), {
      NODE_OPTIONS: `--import=${pathToFileURL(join(import.meta.dirname, 'support', 'disk-full-preload.mjs')).href}`,
      ARMPRIOR_TEST_DISK_FULL_FROM: '\\.staging-ckpt-0000000500-\\d+/arrays\\.bin$',
    });
    const run = onlyRun(runs);
    expect(result.stderr).toBe(
      `armprior: no space left on device while writing ${join(run, 'checkpoints', 'ckpt-0000000500')}\n`,
    );
    expect(result.code).toBe(2);
    // run.json could not be rewritten: it still says running, but no live process holds the
    // run, so readers see it interrupted.
    const info = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
    expect(info.status).toBe('running');
    expect(runStatus(run, info)).toBe('interrupted');
    expect(allFiles(run).filter((f) => LEFTOVER.test(f))).toEqual([]);
  });
});

describe('one process per run folder', () => {
  it('refuses a second trainer while the first runs; a killed run reads as interrupted and resumes', async () => {
    const ws = workspace();
    const runs = join(ws, 'runs');
    mkdirSync(runs);
    const first = spawn(process.execPath, [cliBin, ...trainArgs(ws, runs, 200_000)], { stdio: 'ignore' });
    const exited = new Promise((resolve) => first.on('exit', resolve));
    try {
      // Wait until it has trained past its first checkpoint.
      let run = '';
      for (;;) {
        await new Promise((r) => setTimeout(r, 100));
        const names = readdirSync(runs);
        run = names.length ? join(runs, names[0]!) : '';
        if (run && existsSync(join(run, 'checkpoints', 'ckpt-0000000500'))) break;
      }
      const viewer = new ViewerData(join(ws, 'priors'), runs);
      expect(viewer.runs().runs.map((r) => r.status)).toEqual(['running']);
      expect(readRunLock(run)).toMatchObject({ state: 'held', holder: { pid: first.pid } });

      const config = readFileSync(join(run, 'config.yaml'));
      // A short budget: were it let in, it would finish (and pass) quickly rather than train on.
      const second = await runCli(['train', '--resume', run, '--steps', '600', '--json']);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(
        new RegExp(
          `^armprior: ${run} is in use by another process \\(armprior train, pid ${first.pid} on ${hostname()}, since [^)]+\\): wait for it to end, or stop it first\\n$`,
        ),
      );
      expect(readFileSync(join(run, 'config.yaml'))).toEqual(config);

      first.kill('SIGKILL');
      expect(await exited).toBe(null);
      // run.json was last written as `running`; the lock's holder is gone.
      expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).status).toBe('running');
      expect(readRunLock(run).state).toBe('stale');
      expect(viewer.runs().runs.map((r) => r.status)).toEqual(['interrupted']);

      // Continued from its newest checkpoint to 500 steps past it.
      const newest = Number(readdirSync(join(run, 'checkpoints')).sort().at(-1)!.slice('ckpt-'.length));
      const resumed = await runCli(['train', '--resume', run, '--steps', String(newest + 500), '--json']);
      expect(resumed.code).toBe(0);
      expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).status).toBe('finished');
      expect(existsSync(join(run, 'run.lock'))).toBe(false);
      const rows = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { kind: string; step: number });
      const keys = rows.map((r) => `${r.kind}@${r.step}`);
      expect(new Set(keys).size).toBe(keys.length); // no record written twice
      expect(rows.at(-1)!.step).toBe(newest + 500);
    } finally {
      first.kill('SIGKILL');
      await exited;
    }
  }, 300_000);
});

const REACH = { task: 'reach', observationSize: 6, goalSize: 3, actionSize: 3 };
const valuesOf = (episodes: readonly object[]) =>
  JSON.stringify(episodes, (_key, value) =>
    ArrayBuffer.isView(value) ? Array.from(value as Uint8Array) : value,
  );

/**
 * An offset of episode file `name` where one flipped bit is read back with other values when
 * nothing checks the file's bytes (found on a copy of the dataset without its checksums).
 */
async function silentlyDamagingOffset(demos: string, name: string): Promise<number> {
  const copy = mkdtempSync(join(tmpdir(), 'armprior-demos-'));
  cpSync(demos, copy, { recursive: true });
  rmSync(join(copy, 'checksums'), { recursive: true });
  const reference = valuesOf((await readDataset(copy, REACH)).episodes);
  const file = join(copy, 'episodes', name);
  const original = readFileSync(file);
  for (let offset = 4; offset < original.length; offset++) {
    const bytes = Buffer.from(original);
    bytes[offset] = bytes[offset]! ^ 0x01;
    writeFileSync(file, bytes);
    const read = await readDataset(copy, REACH).catch(() => undefined);
    if (read && valuesOf(read.episodes) !== reference) return offset;
  }
  throw new Error(`no offset of ${name} is read back with changed values`);
}

describe('dataset integrity in train --demos', () => {
  it('refuses a corrupted episode file naming it; reads a dataset without checksums with a notice', async () => {
    const ws = workspace();
    const demos = join(ws, 'demos');
    const recorded = await runCli([
      'sim',
      '--task',
      'reach',
      '--controller',
      'prior',
      '--episodes',
      '3',
      '--record',
      demos,
      '--priors',
      join(ws, 'priors'),
    ]);
    expect(recorded.code).toBe(0);
    expect(readdirSync(join(demos, 'checksums')).sort()).toEqual([
      'episode-000000.parquet.sha256',
      'episode-000001.parquet.sha256',
      'episode-000002.parquet.sha256',
    ]);
    const file = join(demos, 'episodes', 'episode-000001.parquet');
    const original = readFileSync(file);
    const offset = await silentlyDamagingOffset(demos, 'episode-000001.parquet');
    const damaged = Buffer.from(original);
    damaged[offset] = damaged[offset]! ^ 0x01;
    writeFileSync(file, damaged);
    const refused = await runCli([...trainArgs(ws, join(ws, 'runs'), 100), '--demos', demos]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `armprior: ${file}: corrupted: its ${original.length} bytes do not match the SHA-256 recorded when it was written (${join(demos, 'checksums', 'episode-000001.parquet.sha256')}). If another tool rewrote it on purpose (pyarrow keeps armprior's metadata), delete that checksum file: the episode is then read unverified\n`,
    );
    expect(existsSync(join(ws, 'runs'))).toBe(false);

    // A dataset written before checksums: loaded, and said to be unverified.
    writeFileSync(file, original);
    rmSync(join(demos, 'checksums'), { recursive: true });
    const legacy = await runCli([...trainArgs(ws, join(ws, 'runs'), 100), '--demos', demos]);
    expect(legacy.code).toBe(0);
    expect(legacy.stderr).toContain(
      `armprior: 3 of 3 episode file(s) in ${demos} have no checksum (written before armprior kept them): read unverified`,
    );
    expect(statSync(join(onlyRun(join(ws, 'runs')), 'policy.onnx')).size).toBeGreaterThan(0);
  });
});
