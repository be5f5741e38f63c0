import { performance } from 'node:perf_hooks';
import type { Observable, SchedulerLike } from 'rxjs';
import { observationFieldsOf } from '../../sim/env.js';
import { createTask } from '../../sim/tasks/registry.js';
import { computeTaskReward, type Task } from '../../sim/tasks/task.js';
import { KinematicModel } from '../bridge/kinematic-model.js';
import { type Robot, RobotError } from '../bridge/robot.js';
import { RosRobot, type RosRobotStats } from '../bridge/ros/ros-robot.js';
import { jointsOutsideModel, SafetyFilter, safetyLimitsOf } from '../bridge/safety.js';
import { SimRobot } from '../bridge/sim-robot.js';
import { TaskObserver } from '../bridge/task-observer.js';
import { resolvePrior } from '../controllers/priors.js';
import type { PriorStore } from '../controllers/store.js';
import { ArmpriorError } from '../core/errors.js';
import { layoutSize } from '../episodes/dataset/schema.js';
import { policyTaskOf } from '../rl/onnx-policy.js';
import { loadRobotConfig, type RobotConfig } from '../robot-config/robot-config.js';
import { type Actor, policyActor, priorActor } from './actors.js';
import { runControlLoop } from './control-loop.js';
import { createControlStep, type EpisodeTally, type RunEnding } from './control-step.js';
import type { LoopReport, LoopStats } from './loop-contract.js';
import { RealtimeScheduler, spinMarginFor } from './realtime-scheduler.js';
import { RunRecorder } from './run-recorder.js';

export interface RunSessionOptions {
  /** `sim` (the simulated Panda), `sim:<name|file>` (a robot config, simulated), or a robot config name/path with a `ros:` section. */
  robot: string;
  /** `prior:<task>[:vN|:bundled]` or a policy file (`.onnx`). */
  actor: string;
  /** The task, where the actor does not say it (a policy's metadata does). */
  task?: string;
  /** Loop rate (Hz); default: the task's control rate (1 / ctrlDtSec). */
  rateHz?: number;
  /** Stop after this long (s); default: until stopped. */
  durationSec?: number;
  /** Dataset folder to record into. */
  record?: string;
  /** Seed of the simulated scene (episode k: seed + k). */
  seed: number;
  priors: PriorStore;
  /** Goal position (task frame, m) for a robot without a goal topic. */
  goalM?: [number, number, number];
  /** Steps per episode; default the task's episode length for `sim`, none for a real robot. */
  episodeSteps?: number;
  /** Clock and timers; default a {@link RealtimeScheduler} with the spin margin for the rate. */
  scheduler?: SchedulerLike;
  stop$?: Observable<string>;
  reportEveryMs?: number;
  onStats?: (stats: LoopStats) => void;
  log?: (line: string) => void;
}

export interface RunSessionResult {
  report: LoopReport;
  tally: EpisodeTally;
  robot: string;
  actor: string;
  task: string;
  rateHz: number;
  recordedTo?: string;
  /** A ROS robot's link counters: messages received and refused, reconnects, commands sent. */
  robotStats?: RosRobotStats;
}

/** Parses `prior:<task>[:version]`; anything else is a policy file. */
function parseActor(
  spec: string,
): { kind: 'prior'; task: string; version?: string } | { kind: 'policy'; file: string } {
  if (spec.startsWith('prior:')) {
    const [, task, version] = spec.split(':');
    if (!task)
      throw new ArmpriorError(
        'bad_actor',
        `--actor ${spec}: name the task, e.g. prior:push or prior:push:v2`,
      );
    return version ? { kind: 'prior', task, version } : { kind: 'prior', task };
  }
  if (!spec.endsWith('.onnx')) {
    throw new ArmpriorError(
      'bad_actor',
      `--actor ${spec}: use prior:<task>[:vN] or a policy file ending in .onnx`,
    );
  }
  return { kind: 'policy', file: spec };
}

/** The task a policy file was trained on (its metadata), so `--task` can be left out. */
function policyTask(file: string): string | undefined {
  try {
    return policyTaskOf(file);
  } catch {
    return undefined; // policyActor reports an unreadable file with the reason
  }
}

/** How the episode in progress ends with the run: at a lost link, on a fault, or normally. */
function episodeEnding(report: LoopReport | undefined, robot: Robot): RunEnding {
  if (report === undefined) return 'aborted'; // the safe stop itself failed
  if (robot.link() !== 'connected' || report.stop.kind === 'impossible') return 'link_lost';
  return report.endedOnFault ? 'aborted' : 'run_ended';
}

/**
 * Refuses to start from a posture outside the model's joint limits (issue #17): a real arm
 * powered on at zero, or a wrong joint mapping, would otherwise be driven against a limit on every
 * step without a word. Nothing has been commanded yet.
 */
function checkStartPosture(robot: Robot, config: RobotConfig, kinematics: KinematicModel): void {
  const state = robot.observe();
  if (!state) return; // connect() waits for a state; a robot without one is held by the watchdog
  const outside = jointsOutsideModel(
    state.jointPositions,
    kinematics.arm.jointRange(),
    config.arm.jointLimitMarginRad,
  );
  if (outside.length === 0) return;
  const robotNames = config.ros?.jointNames;
  const joints = outside.map((j) => {
    const name = config.arm.joints[j.index]!;
    const onRobot = robotNames?.[j.index];
    return `${name}${onRobot && onRobot !== name ? ` (${onRobot})` : ''} at ${j.positionRad.toFixed(3)} rad, limits [${j.lowRad.toFixed(3)}, ${j.highRad.toFixed(3)}]`;
  });
  throw new RobotError(
    `robot '${config.name}' reports joint positions outside the limits of its model ${config.mjcfPath}: ` +
      `${joints.join('; ')}. The run does not start (nothing was commanded): move the arm into its range ` +
      '(e.g. to its home posture), or check ros.jointNames and the model',
  );
}

/**
 * `armprior run`: builds the robot, the actor, the kinematic model, the safety filter and the
 * recorder, runs the control loop until the duration, a stop or a fault, and always ends with
 * the robot's safe stop (what it achieved is `report.stop`), the recording's episode closed and
 * everything released.
 */
export async function runSession(options: RunSessionOptions): Promise<RunSessionResult> {
  const log = options.log ?? (() => {});
  const actorSpec = parseActor(options.actor);
  const taskName = actorSpec.kind === 'prior' ? actorSpec.task : (options.task ?? policyTask(actorSpec.file));
  if (!taskName)
    throw new ArmpriorError('bad_actor', `cannot tell the task of ${options.actor}: give --task`);
  if (options.task && options.task !== taskName) {
    throw new ArmpriorError(
      'bad_actor',
      `--task ${options.task} does not match the actor's task '${taskName}'`,
    );
  }
  const task: Task = createTask(taskName);
  // `sim` is the simulated Panda; `sim:<name|file>` simulates any robot config, a ROS robot's
  // included (its limits and safety settings), to try a run before it meets the hardware.
  const isSim = options.robot === 'sim' || options.robot.startsWith('sim:');
  const robotConfig: RobotConfig = loadRobotConfig(
    options.robot === 'sim' ? 'panda' : isSim ? options.robot.slice('sim:'.length) : options.robot,
  );
  if (!isSim && !robotConfig.ros) {
    throw new ArmpriorError(
      'robot_not_ros',
      `robot '${robotConfig.name}' has no ros: section (rosbridge URL, topics); use --robot sim for the simulated arm`,
    );
  }
  const rateHz = options.rateHz ?? 1 / task.config.ctrlDtSec;
  const periodMs = 1000 / rateHz;
  const scheduler = options.scheduler ?? new RealtimeScheduler({ spinMarginMs: spinMarginFor(periodMs) });
  const now = () => scheduler.now();

  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const kinematics = await KinematicModel.create(robotConfig, task);
    cleanups.push(() => kinematics.dispose());
    const observer = new TaskObserver(task, kinematics, options.goalM);
    const actor: Actor =
      actorSpec.kind === 'prior'
        ? await priorActor(task, resolvePrior(options.priors, task.name, actorSpec.version))
        : await policyActor(actorSpec.file, task);
    cleanups.push(() => actor.close());
    const robot: Robot = isSim
      ? await SimRobot.create({ task: task.name, robot: robotConfig, seed: options.seed, now })
      : new RosRobot(robotConfig, { now, onReconnect: robotConfig.safety.onReconnect, log });
    cleanups.push(() => robot.close());
    const recorder = options.record
      ? await RunRecorder.open({
          dir: options.record,
          task: task.name,
          robot: robotConfig.name,
          source: isSim ? 'sim' : 'robot',
          periodSec: periodMs / 1000,
          observationFields: observationFieldsOf(task),
          goalSize: layoutSize(task.goalFields),
          actionSize: actor.actionSize,
          computeReward: (a, d) => computeTaskReward(task, a, d),
          actorIsPrior: actorSpec.kind === 'prior',
        })
      : undefined;
    // On the error path the run's own error is the one to report, not a recording failure after it.
    if (recorder) cleanups.push(() => recorder.close().catch(() => {}));
    log(`connecting to ${isSim ? 'the simulated arm' : `${robotConfig.name} (${robotConfig.ros?.url})`}…`);
    await robot.connect();
    checkStartPosture(robot, robotConfig, kinematics);
    const safety = new SafetyFilter(safetyLimitsOf(robotConfig, kinematics.arm.jointRange()), kinematics);
    const episodeSteps =
      options.episodeSteps ??
      (isSim
        ? Math.round((task.config.maxEpisodeSteps * task.config.ctrlDtSec * 1000) / periodMs)
        : undefined);
    const control = createControlStep({
      robot,
      robotConfig,
      task,
      actor,
      observer,
      kinematics,
      safety,
      periodSec: periodMs / 1000,
      now,
      latencyClock: () => performance.now(),
      ...(episodeSteps === undefined ? {} : { episodeSteps }),
      ...(recorder ? { recorder } : {}),
      ...(isSim ? { seed: options.seed } : {}),
      log,
    });
    const loop = runControlLoop({
      robot,
      step: control.step,
      onHold: control.hold,
      scheduler,
      periodMs,
      maxStateAgeMs: robotConfig.safety.maxStateAgeMs,
      ...(options.durationSec === undefined ? {} : { durationMs: options.durationSec * 1000 }),
      ...(options.stop$ ? { stop$: options.stop$ } : {}),
      reportEveryMs: options.reportEveryMs ?? 1000,
    });
    const subscription = options.onStats ? loop.stats$.subscribe(options.onStats) : undefined;
    // Every ending comes through here: the loop has stopped the robot (report.stop says how), and
    // the episode in progress closes with the reason the run ended.
    let report: LoopReport | undefined;
    try {
      report = await loop.done;
    } finally {
      subscription?.unsubscribe();
      control.finish(robot.observe(), episodeEnding(report, robot));
    }
    // The run reports once every recorded episode is on disk; a failed write is the run's error.
    await recorder?.close();
    return {
      report,
      tally: control.tally,
      robot: isSim ? `sim (${robotConfig.name})` : robotConfig.name,
      actor: actor.label,
      task: task.name,
      rateHz,
      ...(recorder ? { recordedTo: recorder.dir } : {}),
      ...(robot instanceof RosRobot ? { robotStats: robot.stats() } : {}),
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}
