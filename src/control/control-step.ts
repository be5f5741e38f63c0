import type { Task } from '../../sim/tasks/task.js';
import type { KinematicModel } from '../bridge/kinematic-model.js';
import type { JointCommand, Robot, RobotState } from '../bridge/robot.js';
import type { SafetyFilter } from '../bridge/safety.js';
import type { TaskObserver } from '../bridge/task-observer.js';
import type { EndReason } from '../episodes/step.js';
import type { RobotConfig } from '../robot-config/robot-config.js';
import { type Actor, checkAction } from './actors.js';
import type { ControlStep, HoldKind, StepOutcome, Tick } from './loop-contract.js';
import type { RunRecorder } from './run-recorder.js';

export interface ControlStepParts {
  robot: Robot;
  robotConfig: RobotConfig;
  task: Task;
  actor: Actor;
  observer: TaskObserver;
  kinematics: KinematicModel;
  safety: SafetyFilter;
  /** The loop period (s). */
  periodSec: number;
  /** The loop clock (ms). */
  now: () => number;
  /** A real clock for the actor's latency (ms): CPU time is real even under a virtual loop clock. */
  latencyClock: () => number;
  /** Steps per episode; at the end the robot starts a new one where it can (the simulated arm). */
  episodeSteps?: number;
  recorder?: RunRecorder;
  /** Seed of the first episode, for the recording's metadata. */
  seed?: number;
  /** Where episode breaks at a gap are told (default: nowhere). */
  log?: (line: string) => void;
}

/** How the run ended, for the episode in progress: see {@link EndReason}. */
export type RunEnding = Extract<EndReason, 'run_ended' | 'aborted' | 'link_lost'>;

/** Episode bookkeeping the run reports at the end. */
export interface EpisodeTally {
  episodes: number;
  successes: number;
  /** Whether the goal was reached in the episode in progress. */
  succeeded: boolean;
}

/**
 * One tick of `armprior run` (issue #5): observation from the measured state, the actor's
 * action, the IK to joint velocities, the safety filter, the command, the recording. A non-finite
 * action or an actor that gave up throws, which the loop turns into a safe stop with the reason.
 *
 * An episode never spans a gap (issue #17): the loop tells {@link hold} on every tick it holds
 * (link down: `link_lost`; stale state: `state_gap`), and a step that comes more than
 * `safety.maxStateAgeMs` after the previous one (the process stalled, the clock skipped
 * deadlines) ends the episode as `state_gap` before it records. In both cases the arm did not
 * follow the last recorded command for one period, so that transition ends its episode, and the
 * next episode (actor and observer reset) begins with the next step.
 */
export function createControlStep(parts: ControlStepParts): {
  step: ControlStep;
  tally: EpisodeTally;
  /** The loop held the robot on a tick (`ControlLoopOptions.onHold`): ends the episode in progress. */
  hold: (kind: HoldKind) => void;
  /** Ends the episode in progress when the run ends, with the reason that says how. */
  finish: (finalState: RobotState | undefined, ending: RunEnding) => void;
} {
  const { robot, task, actor, observer, kinematics, safety, recorder } = parts;
  const n = robot.spec.jointNames.length;
  const jointVelocities = new Float64Array(n);
  const eeVel = new Float64Array(3);
  const tally: EpisodeTally = { episodes: 0, successes: 0, succeeded: false };
  let stepInEpisode = 0;
  let episodeStartMs: number | undefined;
  let episodeOpen = false;
  /** When the last step ran (loop clock, ms). */
  let lastStepMs: number | undefined;
  /** Scenes the simulated robot has placed (its seed index); a gap does not place a new one. */
  let scenes = 0;
  const maxGapMs = parts.robotConfig.safety.maxStateAgeMs;
  const log = parts.log ?? (() => {});
  const actionScale = parts.task.config.ctrlDtSec / parts.robotConfig.control.maxEeStepM;

  const beginEpisode = () => {
    actor.reset();
    observer.reset();
    stepInEpisode = 0;
    episodeStartMs = undefined;
    tally.succeeded = false;
    episodeOpen = true;
    const seed = parts.seed === undefined ? undefined : parts.seed + scenes;
    recorder?.beginEpisode(actor.label, {
      ...(seed === undefined ? {} : { seed }),
      ...(actor.priorVersion ? { priorVersion: actor.priorVersion } : {}),
    });
  };

  const endEpisode = (reason: EndReason) => {
    if (!episodeOpen) return;
    episodeOpen = false;
    tally.episodes++;
    if (tally.succeeded) tally.successes++;
    recorder?.endEpisode(reason); // written in the background; run-session awaits recorder.close()
  };

  /** Ends the episode at a gap; the last step's next observation is the last state seen, if any. */
  const endAtGap = (reason: 'link_lost' | 'state_gap', why: string, latest: RobotState | undefined) => {
    if (!episodeOpen) return;
    noteFinal(latest);
    endEpisode(reason);
    if (recorder)
      log(`recording: episode ended at ${why} (${reason}); the next begins when the loop steps again`);
  };

  const noteFinal = (state: RobotState | undefined) => {
    if (!state || !recorder || !episodeOpen) return;
    try {
      recorder.observeFinal(observer.observe(state));
    } catch {
      // The state may lack what the observation needs (a link that went down); the last step is
      // then written with the last observation the loop saw.
    }
  };

  /** The sent joint command as a task action (end-effector velocity in action units), for the recording. */
  const sentAsAction = (sent: JointCommand | undefined): Float64Array => {
    const out = new Float64Array(actor.actionSize);
    if (!sent) return out;
    kinematics.eeVelocity(eeVel, 0, sent.jointVelocities);
    for (let a = 0; a < 3; a++) out[a] = Math.max(-1, Math.min(1, eeVel[a]! * actionScale));
    if (task.usesGripper) out[3] = sent.gripper ?? 0;
    return out;
  };

  const step: ControlStep = async (
    state: RobotState,
    _tick: Tick,
    signal: AbortSignal,
  ): Promise<StepOutcome> => {
    const nowMs = parts.now();
    if (lastStepMs !== undefined && nowMs - lastStepMs > maxGapMs) {
      endAtGap('state_gap', `a ${(nowMs - lastStepMs).toFixed(0)} ms gap between steps`, undefined);
    }
    lastStepMs = nowMs;
    if (!episodeOpen) beginEpisode();
    episodeStartMs ??= nowMs;
    const obs = observer.observe(state);
    if (task.isSuccess(obs.achievedGoal, obs.desiredGoal)) tally.succeeded = true;
    const started = parts.latencyClock();
    const action = await actor.act(obs, signal);
    const actorLatencyMs = parts.latencyClock() - started;
    checkAction(actor.label, action, actor.actionSize, stepInEpisode);
    kinematics.jointVelocitiesFor(action, jointVelocities);
    // The actor is made for this task (src/control/actors.ts), so its action carries the gripper
    // command as its last value exactly when the task uses the gripper.
    const proposal: JointCommand = task.usesGripper
      ? { jointVelocities, gripper: action[3]! }
      : { jointVelocities };
    const filtered = safety.filter(proposal, state, parts.periodSec, nowMs);
    // The loop may have ended (and stopped the robot) while the actor was thinking: a command
    // sent now would set the arm moving again after its safe stop.
    if (signal.aborted) return { actorLatencyMs, interventions: filtered.interventions };
    const sent = robot.act(filtered.command);
    recorder?.step({
      observation: obs.observation,
      achievedGoal: obs.achievedGoal,
      desiredGoal: obs.desiredGoal,
      action,
      sentAction: sentAsAction(sent),
      safetyInterventions: filtered.interventions.length,
      timeSec: (nowMs - episodeStartMs) / 1000,
    });
    stepInEpisode++;
    if (parts.episodeSteps !== undefined && stepInEpisode >= parts.episodeSteps) {
      const next = robot.observe();
      if (next && recorder) recorder.observeFinal(observer.observe(next));
      endEpisode('truncated');
      if (robot.newEpisode) {
        robot.newEpisode();
        scenes++;
      }
    }
    return { actorLatencyMs, interventions: filtered.interventions };
  };

  const hold = (kind: HoldKind) => {
    if (kind === 'link_down') endAtGap('link_lost', 'a link loss', undefined);
    else if (kind === 'stale_state') {
      endAtGap('state_gap', 'stale robot state (the watchdog held the arm)', robot.observe());
    } else
      endAtGap(
        'state_gap',
        'a step the actor did not finish in time (the loop held the arm)',
        robot.observe(),
      );
  };

  const finish = (finalState: RobotState | undefined, ending: RunEnding) => {
    noteFinal(finalState);
    endEpisode(ending);
  };

  return { step, tally, hold, finish };
}
