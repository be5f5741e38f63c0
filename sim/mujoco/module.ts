import loadMujoco, { type MainModule } from 'mujoco-js';

/** The mujoco-js module: one per thread (a worker of a VecEnv loads its own). */
export type Mujoco = MainModule;

/**
 * mujoco-js prints XML syntax errors to stdout instead of returning them. Its print hook keeps
 * the last lines here so the model loader can recover the message (see model-loader.ts).
 */
const recentOutput: string[] = [];
const RECENT_OUTPUT_LINES = 50;

let modulePromise: Promise<Mujoco> | undefined;

/** Loads mujoco-js once per thread and returns the same module afterwards. */
export function getMujoco(): Promise<Mujoco> {
  modulePromise ??= loadMujoco({
    print: (line: string) => remember(line),
    printErr: (line: string) => remember(line),
  });
  return modulePromise;
}

function remember(line: string): void {
  recentOutput.push(line);
  if (recentOutput.length > RECENT_OUTPUT_LINES) recentOutput.shift();
}

/** Lines mujoco-js printed since the last call, and forgets them. */
export function takeMujocoOutput(): string[] {
  return recentOutput.splice(0, recentOutput.length);
}
