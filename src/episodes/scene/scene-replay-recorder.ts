import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ArmEnv, StepResult } from '../../../sim/env.js';
import type { Simulation } from '../../../sim/mujoco/simulation.js';
import type { EpisodeObserver, StepObserver } from '../run-episode.js';
import { asDiskFull, writeFreshFile } from '../../core/disk-full.js';
import { ArmpriorError } from '../../core/errors.js';
import { INPUT_LIMITS, InputFileError, readInputText } from '../../core/input-file.js';
import {
  REPLAY_FORMAT_VERSION,
  type Replay,
  type ReplayGeom,
  ReplaySchema,
  replayFileName,
} from './scene-replay-format.js';

/**
 * Decimals kept in a replay's numbers. 5 decimals is 10 µm for positions and 1e-5 for
 * quaternion components and rewards, far below what a viewer can show, and it makes a 50-step
 * episode of the Panda scene roughly half the size it is at full float64 precision.
 */
export const REPLAY_DECIMALS = 5;
const SCALE = 10 ** REPLAY_DECIMALS;

/** A replay file or folder that cannot be read or written as asked; the message names the file. */
export class ReplayError extends ArmpriorError {
  /** The file or folder concerned. */
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('replay_invalid', `${file}: ${message}`, options);
    this.file = file;
  }
}

/** The static part of a replay: the scene's bodies and geoms, taken once per env. */
export interface ReplayScene {
  /** Body names, index = MuJoCo body id (unnamed bodies are called `body<id>`). */
  bodies: string[];
  geoms: ReplayGeom[];
  /** Geoms left out, with why (height fields, SDFs, flexes; hidden collision groups). */
  skippedGeoms: string[];
}

/**
 * MuJoCo geom groups shown by default in MuJoCo's own viewer (0–2). Robot models (MuJoCo
 * Menagerie) put collision-only duplicates of their visual meshes in group 3; drawing them would
 * show every link twice.
 */
const VISIBLE_GROUPS = 3;

/** MuJoCo's default geom colour: a geom left at it takes its material's colour, as MuJoCo renders it. */
const DEFAULT_RGBA = [0.5, 0.5, 0.5, 1];

/**
 * Reads the scene's bodies and geoms from the compiled model. Meshes become boxes of their
 * bounding box (MuJoCo's `geom_aabb`: centre and half sizes in the geom frame); geom types a box
 * cannot stand for (height field, SDF) are skipped and named in `skippedGeoms`.
 */
export function readReplayScene(sim: Simulation): ReplayScene {
  const { mj, model } = sim;
  const objects = mj.mjtObj as unknown as Record<string, { value: number }>;
  const bodyType = objects.mjOBJ_BODY!.value;
  const geomType = objects.mjOBJ_GEOM!.value;
  const nameOf = (type: number, id: number): string => mj.mj_id2name(model, type, id) ?? '';
  const bodies = Array.from({ length: model.nbody }, (_, id) => nameOf(bodyType, id) || `body${id}`);

  const enumValues = mj.mjtGeom as unknown as Record<string, { value: number }>;
  const typeNames = new Map<number, ReplayGeom['type'] | 'mesh'>([
    [enumValues.mjGEOM_PLANE!.value, 'plane'],
    [enumValues.mjGEOM_SPHERE!.value, 'sphere'],
    [enumValues.mjGEOM_CAPSULE!.value, 'capsule'],
    [enumValues.mjGEOM_ELLIPSOID!.value, 'ellipsoid'],
    [enumValues.mjGEOM_CYLINDER!.value, 'cylinder'],
    [enumValues.mjGEOM_BOX!.value, 'box'],
    [enumValues.mjGEOM_MESH!.value, 'mesh'],
  ]);
  // Each getter builds a fresh view of wasm memory; take each array once.
  const types = model.geom_type as Int32Array;
  const bodyIds = model.geom_bodyid as Int32Array;
  const groups = model.geom_group as Int32Array;
  const sizes = model.geom_size as Float64Array;
  const positions = model.geom_pos as Float64Array;
  const quats = model.geom_quat as Float64Array;
  const colours = model.geom_rgba as Float32Array;
  const boxes = model.geom_aabb as Float64Array;
  const materials = model.geom_matid as Int32Array;
  const materialColours = model.mat_rgba as Float32Array;

  const geoms: ReplayGeom[] = [];
  const skippedGeoms: string[] = [];
  for (let g = 0; g < model.ngeom; g++) {
    const name = nameOf(geomType, g);
    const label = name ? `'${name}'` : `#${g}`;
    const kind = typeNames.get(types[g]!);
    if (kind === undefined) {
      skippedGeoms.push(`geom ${label}: MuJoCo geom type ${types[g]} has no replay shape`);
      continue;
    }
    if (groups[g]! >= VISIBLE_GROUPS) {
      skippedGeoms.push(`geom ${label}: group ${groups[g]} (hidden, collision only)`);
      continue;
    }
    const pos = triple(positions, 3 * g);
    const quat = quad(quats, 4 * g);
    let size = triple(sizes, 3 * g);
    if (kind === 'mesh') {
      // The bounding box may be off-centre in the geom frame: move the box's centre there.
      const centre = rotate(quat, triple(boxes, 6 * g));
      for (let i = 0; i < 3; i++) pos[i] = pos[i]! + centre[i]!;
      size = triple(boxes, 6 * g + 3);
    }
    let rgba = quad(colours, 4 * g);
    const material = materials[g]!;
    if (material >= 0 && rgba.every((v, i) => Math.abs(v - DEFAULT_RGBA[i]!) < 1e-6)) {
      rgba = quad(materialColours, 4 * material);
    }
    geoms.push({
      type: kind === 'mesh' ? 'box' : kind,
      body: bodyIds[g]!,
      size: size.map(round) as ReplayGeom['size'],
      pos: pos.map(round) as ReplayGeom['pos'],
      quat: quat.map(round) as ReplayGeom['quat'],
      rgba: rgba.map((v) => Math.round(v * 1000) / 1000) as ReplayGeom['rgba'],
      ...(name ? { name } : {}),
    });
  }
  return { bodies, geoms, skippedGeoms };
}

/** What acted in a recorded episode, as `Replay.actor` spells it. */
export function priorActorName(task: string, version: number | 'bundled'): string {
  return `prior:${task}:${version === 'bundled' ? 'bundled' : `v${version}`}`;
}

/** The hooks that record one episode run by `runEpisode`, and the replay they make. */
export interface EpisodeCapture {
  /** Pass as `runEpisode`'s `observer`: it sees the state after reset and after every step. */
  readonly observer: EpisodeObserver;
  /** Pass as `runEpisode`'s `onStep`: it sees each step's reward, success and reward terms. */
  readonly onStep: StepObserver;
  /** The replay of the episode so far (call after the episode ended). */
  replay(): Replay;
  /** Writes the replay as the next file of the recorder's folder and returns its path. */
  save(): string;
}

/**
 * Records episodes of one env as replays (src/episodes/scene/scene-replay-format.ts) into one folder. The
 * scene is read once; each episode then costs a copy of the body poses per step.
 *
 * ```ts
 * const recorder = new ReplayRecorder(env, { actor: 'prior:push:v3', dir });
 * const capture = recorder.begin(seed);
 * runEpisode(env, controller, seed, 0, capture.observer, capture.onStep);
 * capture.save(); // <dir>/episode-000000.json
 * ```
 */
export class ReplayRecorder {
  readonly scene: ReplayScene;
  readonly dir: string;
  private readonly env: ArmEnv;
  private readonly actor: string;

  constructor(env: ArmEnv, options: { actor: string; dir: string }) {
    this.env = env;
    this.actor = options.actor;
    this.dir = options.dir;
    env.simulation.ensureViews();
    this.scene = readReplayScene(env.simulation);
  }

  /** Starts recording an episode reset with `seed`; the capture's hooks go to `runEpisode`. */
  begin(seed: number): EpisodeCapture {
    const { env, scene } = this;
    const sim = env.simulation;
    const frames: Replay['frames'] = [];
    let rewardTermNames: string[] | undefined;
    let pending: StepResult | undefined;
    let total = 0;
    const terms = (values: Record<string, number>): number[] => {
      // The names are fixed by the first frame, sorted, so every frame lists them in one order.
      rewardTermNames ??= Object.keys(values).sort();
      return rewardTermNames.map((name) => {
        const value = values[name];
        if (value === undefined)
          throw new ReplayError(this.dir, `task '${env.task.name}' stopped reporting reward term '${name}'`);
        return round(value);
      });
    };
    const observer: EpisodeObserver = (_observation, achievedGoal, desiredGoal) => {
      sim.ensureViews();
      const step = pending;
      pending = undefined;
      frames.push({
        bodyPos: roundAll(sim.xpos, 3 * scene.bodies.length),
        bodyQuat: roundAll(sim.xquat, 4 * scene.bodies.length),
        reward: step ? round(step.reward) : 0,
        success: step ? step.info.isSuccess : env.task.isSuccess(achievedGoal, desiredGoal),
        rewardTerms: terms(step ? step.info.rewardTerms : env.task.rewardTerms(achievedGoal, desiredGoal)),
      });
    };
    const onStep: StepObserver = (_before, _action, result) => {
      pending = result;
      total += result.reward;
    };
    const replay = (): Replay => ({
      format: REPLAY_FORMAT_VERSION,
      task: env.task.name,
      robot: env.robot.name,
      actor: this.actor,
      seed,
      ctrlDtSec: env.task.config.ctrlDtSec,
      success: frames.at(-1)?.success ?? false,
      return: round(total),
      bodies: scene.bodies,
      geoms: scene.geoms,
      rewardTermNames: rewardTermNames ?? [],
      frames,
    });
    return { observer, onStep, replay, save: () => writeReplay(this.dir, replay()) };
  }
}

/** Calls every observer given, in order (a recorder beside the rollout critic). */
export function allObservers(...observers: (EpisodeObserver | undefined)[]): EpisodeObserver | undefined {
  const present = observers.filter((o): o is EpisodeObserver => o !== undefined);
  if (present.length <= 1) return present[0];
  return (o, a, d) => {
    for (const observer of present) observer(o, a, d);
  };
}

/** Calls every step observer given, in order (a replay beside a dataset). */
export function allStepObservers(...observers: (StepObserver | undefined)[]): StepObserver | undefined {
  const present = observers.filter((o): o is StepObserver => o !== undefined);
  if (present.length <= 1) return present[0];
  return (before, action, result) => {
    for (const observer of present) observer(before, action, result);
  };
}

const REPLAY_FILE = /^episode-(\d{6,})\.json$/;

/**
 * Writes `replay` into `dir` (created if missing) as the file after the highest index there,
 * and returns its path. Atomic and never overwriting: the JSON goes to a temporary file that is
 * then hard-linked to its final name — unlike a rename, a link fails when the name exists
 * (another process took the index), and the next index is tried.
 */
export function writeReplay(dir: string, replay: Replay): string {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw asDiskFull(error, dir);
  }
  const temp = join(dir, `.episode.tmp-${process.pid}`);
  // A full disk is one clear error naming the folder, with no partial file left (issue #17).
  writeFreshFile(temp, JSON.stringify(replay), join(dir, replayFileName(nextIndex(dir))));
  try {
    return linkAsNext(temp, dir);
  } finally {
    unlinkSync(temp);
  }
}

/**
 * Moves the replay files of `from` (in order) to the end of `to`, atomically each and never
 * overwriting, then removes `from`: how an evaluation recorded aside becomes part of a version's
 * replays only once its round has succeeded. Returns the new paths.
 */
export function appendReplays(from: string, to: string): string[] {
  const files = listReplays(from);
  if (files.length === 0) {
    rmSync(from, { recursive: true, force: true });
    return [];
  }
  try {
    mkdirSync(to, { recursive: true });
  } catch (error) {
    throw asDiskFull(error, to);
  }
  const moved = files.map((file) => {
    const target = linkAsNext(file, to);
    unlinkSync(file);
    return target;
  });
  rmSync(from, { recursive: true, force: true });
  return moved;
}

/** Hard-links `file` into `dir` as the replay after the highest index there; returns its path. */
function linkAsNext(file: string, dir: string): string {
  for (let index = nextIndex(dir); ; index++) {
    const target = join(dir, replayFileName(index));
    try {
      linkSync(file, target);
      return target;
    } catch (error) {
      // Unlike a rename, a link fails when the name exists (another process took the index).
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        const full = asDiskFull(error, target);
        throw full !== error ? full : new ReplayError(target, 'cannot write the replay', { cause: error });
      }
    }
  }
}

/** The replay files of a folder, by index (none when the folder does not exist). */
export function listReplays(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, index: REPLAY_FILE.exec(name)?.[1] }))
    .filter((f): f is { name: string; index: string } => f.index !== undefined)
    .sort((a, b) => Number(a.index) - Number(b.index))
    .map((f) => join(dir, f.name));
}

/**
 * Reads and validates one replay file. A missing, truncated or invalid file is a
 * {@link ReplayError} naming the file and the problem (the first few schema issues, by path).
 */
export function readReplay(file: string): Replay {
  let text: string;
  try {
    text = readInputText(file, { maxBytes: INPUT_LIMITS.record, what: 'the replay' });
  } catch (cause) {
    const reason = cause instanceof InputFileError ? cause.detail : (cause as Error).message;
    throw new ReplayError(file, `cannot read the replay (${reason})`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ReplayError(
      file,
      `not a whole JSON document, truncated or corrupt (${(cause as Error).message})`,
      {
        cause,
      },
    );
  }
  const parsed = ReplaySchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ReplayError(file, `not a valid replay: ${issues.join('; ')}`);
  }
  const replay = parsed.data;
  const bodies = replay.bodies.length;
  replay.frames.forEach((frame, t) => {
    if (frame.bodyPos.length !== 3 * bodies || frame.bodyQuat.length !== 4 * bodies)
      throw new ReplayError(
        file,
        `frame ${t} has poses for a different number of bodies than the ${bodies} named`,
      );
    if (frame.rewardTerms.length !== replay.rewardTermNames.length)
      throw new ReplayError(
        file,
        `frame ${t} has ${frame.rewardTerms.length} reward terms, not ${replay.rewardTermNames.length}`,
      );
  });
  for (const geom of replay.geoms) {
    if (geom.body >= bodies) throw new ReplayError(file, `a geom refers to body ${geom.body} of ${bodies}`);
  }
  return replay;
}

function nextIndex(dir: string): number {
  const last = listReplays(dir).at(-1);
  if (last === undefined) return 0;
  return Number(REPLAY_FILE.exec(last.slice(dir.length + 1))![1]) + 1;
}

function round(value: number): number {
  // `+ 0` turns -0 into 0, which JSON would write as 0 anyway; keeps tests' toEqual honest.
  return Math.round(value * SCALE) / SCALE + 0;
}

function roundAll(values: Float64Array, count: number): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = round(values[i]!);
  return out;
}

function triple(values: ArrayLike<number>, offset: number): [number, number, number] {
  return [values[offset]!, values[offset + 1]!, values[offset + 2]!];
}

function quad(values: ArrayLike<number>, offset: number): [number, number, number, number] {
  return [values[offset]!, values[offset + 1]!, values[offset + 2]!, values[offset + 3]!];
}

/** Rotates `v` by the unit quaternion `q` (w, x, y, z). */
function rotate(q: readonly number[], v: readonly number[]): [number, number, number] {
  const [w, x, y, z] = q as [number, number, number, number];
  const [vx, vy, vz] = v as [number, number, number];
  // t = 2 (q_vec × v); v' = v + w t + q_vec × t
  const tx = 2 * (y * vz - z * vy);
  const ty = 2 * (z * vx - x * vz);
  const tz = 2 * (x * vy - y * vx);
  return [vx + w * tx + (y * tz - z * ty), vy + w * ty + (z * tx - x * tz), vz + w * tz + (x * ty - y * tx)];
}
