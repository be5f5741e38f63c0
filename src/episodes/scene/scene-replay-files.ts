import { readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ArmpriorError } from '../../core/errors.js';
import { INPUT_LIMITS, InputFileError, readInputText } from '../../core/input-file.js';
import { episodeFileName, episodeIndexOf, listEpisodesSync, publishNext } from '../episode-folder.js';
import { SCENE_REPLAY_EXTENSION, type SceneReplay, SceneReplaySchema } from './scene-replay-format.js';

/** The viewer's scene replay files on disk: numbered, published and listed as every episode format. */

/** A replay file or folder that cannot be read or written as asked; the message names the file. */
export class SceneReplayError extends ArmpriorError {
  /** The file or folder concerned. */
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('replay_invalid', `${file}: ${message}`, options);
    this.file = file;
  }
}

/** File name of replay `index`. */
export function sceneReplayFileName(index: number): string {
  return episodeFileName(index, SCENE_REPLAY_EXTENSION);
}

/**
 * Writes `replay` into `dir` (created if missing) as the file after the highest index there,
 * and returns its path: atomic, fsynced and never overwriting (src/episodes/episode-folder.ts).
 * A full disk is a DiskFullError naming the file, with no partial file left.
 */
export async function writeSceneReplay(dir: string, replay: SceneReplay): Promise<string> {
  return (await publishNext(dir, SCENE_REPLAY_EXTENSION, Buffer.from(JSON.stringify(replay)))).path;
}

/**
 * Moves the replay files of `from` (in order) to the end of `to`, atomically each and never
 * overwriting, then removes `from`: how an evaluation recorded aside becomes part of a version's
 * replays only once its round has succeeded. Returns the new paths.
 */
export async function appendSceneReplays(from: string, to: string): Promise<string[]> {
  const moved: string[] = [];
  for (const file of listSceneReplays(from)) {
    moved.push((await publishNext(to, SCENE_REPLAY_EXTENSION, await readFile(file))).path);
    await unlink(file);
  }
  await rm(from, { recursive: true, force: true });
  return moved;
}

/** Whether `name` is a replay file's name (`episode-000012.json`). */
export function isSceneReplayFileName(name: string): boolean {
  return episodeIndexOf(name, SCENE_REPLAY_EXTENSION) !== undefined;
}

/** The names of a folder's replay files, by index (none when the folder does not exist). */
export function sceneReplayFileNames(dir: string): string[] {
  try {
    return listEpisodesSync(dir, SCENE_REPLAY_EXTENSION).episodes.map((episode) => episode.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The replay files of a folder, by index (none when the folder does not exist). */
export function listSceneReplays(dir: string): string[] {
  return sceneReplayFileNames(dir).map((name) => join(dir, name));
}

/**
 * Reads and validates one replay file. A missing, truncated or invalid file is a
 * {@link SceneReplayError} naming the file and the problem (the first few schema issues, by path).
 */
export function readSceneReplay(file: string): SceneReplay {
  let text: string;
  try {
    text = readInputText(file, { maxBytes: INPUT_LIMITS.record, what: 'the replay' });
  } catch (cause) {
    const reason = cause instanceof InputFileError ? cause.detail : (cause as Error).message;
    throw new SceneReplayError(file, `cannot read the replay (${reason})`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new SceneReplayError(
      file,
      `not a whole JSON document, truncated or corrupt (${(cause as Error).message})`,
      {
        cause,
      },
    );
  }
  const parsed = SceneReplaySchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new SceneReplayError(file, `not a valid replay: ${issues.join('; ')}`);
  }
  const replay = parsed.data;
  const bodies = replay.bodies.length;
  replay.frames.forEach((frame, t) => {
    if (frame.bodyPos.length !== 3 * bodies || frame.bodyQuat.length !== 4 * bodies)
      throw new SceneReplayError(
        file,
        `frame ${t} has poses for a different number of bodies than the ${bodies} named`,
      );
    if (frame.rewardTerms.length !== replay.rewardTermNames.length)
      throw new SceneReplayError(
        file,
        `frame ${t} has ${frame.rewardTerms.length} reward terms, not ${replay.rewardTermNames.length}`,
      );
  });
  for (const geom of replay.geoms) {
    if (geom.body >= bodies)
      throw new SceneReplayError(file, `a geom refers to body ${geom.body} of ${bodies}`);
  }
  return replay;
}
