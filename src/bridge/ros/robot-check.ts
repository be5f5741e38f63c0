import { performance } from 'node:perf_hooks';
import { Ros, Topic } from 'roslib';
import { ArmpriorError } from '../../core/errors.js';
import type { RobotConfig } from '../../robot-config/robot-config.js';
import { RobotError } from '../robot.js';
import { errorText, type MessageTypes, messageTypes, parseJointState, sameMessageType } from './messages.js';
import {
  describeSpokenVersion,
  type ListedTopic,
  listSubscribers,
  listTopics,
  spokenRosVersion,
} from './rosapi.js';

/**
 * `armprior robot check`: before a run on hardware, compare what rosbridge offers with what the
 * robot config expects — the ROS generation its type names are spelled in, topics and their
 * types and who subscribes to the command topics (via rosapi), the joint-state rate and the joint
 * names on it — and say plainly what does not match. It only listens: nothing is published.
 */

export interface RobotCheckOptions {
  /** How long to watch the state topic (s). */
  readonly listenSec?: number;
  /** How long to wait for the socket and for rosapi (ms); default min(ros.reconnect.timeoutMs, 10 s). */
  readonly timeoutMs?: number;
  /** Clock for the rate measurement (ms). */
  readonly now?: () => number;
}

/** `ok`: as configured; `warning`: worth knowing, not blocking; `problem`: the run would fail or be unsafe. */
export type CheckLevel = 'ok' | 'warning' | 'problem';

export interface CheckLine {
  readonly level: CheckLevel;
  readonly text: string;
}

export interface RobotCheckReport {
  readonly robot: string;
  readonly url: string;
  /** The socket opened. */
  readonly reachable: boolean;
  /** What rosapi listed (empty when rosapi did not answer). */
  readonly topics: readonly { readonly name: string; readonly type: string }[];
  readonly state: {
    readonly topic: string;
    readonly listenSec: number;
    readonly messages: number;
    readonly rejected: number;
    /** Undefined with fewer than two valid messages. */
    readonly rateHz: number | undefined;
    /** Every joint name seen on the topic, in first-seen order. */
    readonly jointNames: readonly string[];
  };
  readonly lines: readonly CheckLine[];
  /** Number of `problem` lines. */
  readonly problems: number;
}

/** A robot check that found problems; the CLI prints the report, then this message (exit code 2). */
export class RobotCheckError extends ArmpriorError {
  readonly report: RobotCheckReport;
  constructor(report: RobotCheckReport) {
    super(
      'robot_check_failed',
      `robot check of '${report.robot}' at ${report.url}: ${report.problems} problem${report.problems === 1 ? '' : 's'}` +
        (report.reachable ? '' : ' (rosbridge unreachable)'),
    );
    this.report = report;
  }
}

/** Opens a socket to rosbridge; resolves false with the reason when it does not open in time. */
function openSocket(
  ros: Ros,
  url: string,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; why: string }> {
  return new Promise((resolve) => {
    let lastError = 'no answer';
    let settled = false;
    const done = (r: { ok: true } | { ok: false; why: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ros.off('connection', onOpen);
      ros.off('close', onClose);
      ros.off('error', onError);
      resolve(r);
    };
    const onOpen = () => done({ ok: true });
    const onClose = () => done({ ok: false, why: lastError });
    const onError = (e: unknown) => {
      lastError = errorText(e);
    };
    const timer = setTimeout(
      () => done({ ok: false, why: `no answer within ${timeoutMs / 1000} s` }),
      timeoutMs,
    );
    ros.on('connection', onOpen);
    ros.on('close', onClose);
    ros.on('error', onError);
    ros.connect(url).then(
      // Timed out before roslib had even made the socket: close it now, or it would keep the CLI alive.
      () => settled && ros.close(),
      (e: unknown) => done({ ok: false, why: errorText(e) }),
    );
  });
}

/** Connects, lists topics, watches the state topic, and reports every mismatch with the config. */
export async function checkRobot(
  config: RobotConfig,
  options: RobotCheckOptions = {},
): Promise<RobotCheckReport> {
  const ros = config.ros;
  if (!ros) {
    throw new RobotError(
      `robot '${config.name}' has no 'ros:' section in its config, so there is nothing to check; ` +
        'add one (see config/robots/panda-ros.yaml)',
    );
  }
  const listenSec = options.listenSec ?? 1.5;
  const timeoutMs = options.timeoutMs ?? Math.min(ros.reconnect.timeoutMs, 10_000);
  const now = options.now ?? (() => performance.now());
  let types = messageTypes(ros.rosVersion);
  const lines: CheckLine[] = [];
  const say = (level: CheckLevel, text: string) => lines.push({ level, text });
  const state = {
    topic: ros.stateTopic,
    listenSec,
    messages: 0,
    rejected: 0,
    rateHz: undefined as number | undefined,
    jointNames: [] as string[],
  };
  let topics: ListedTopic[] = [];
  const report = (reachable: boolean): RobotCheckReport => ({
    robot: config.name,
    url: ros.url,
    reachable,
    topics,
    state,
    lines,
    problems: lines.filter((l) => l.level === 'problem').length,
  });

  const client = new Ros({});
  try {
    const socket = await openSocket(client, ros.url, timeoutMs);
    if (!socket.ok) {
      say('problem', `cannot reach rosbridge at ${ros.url}: ${socket.why}`);
      return report(false);
    }
    say('ok', `rosbridge at ${ros.url} answers`);

    const listed = await listTopics(client, timeoutMs);
    if (listed.ok) {
      topics = listed.value;
      const spoken = spokenRosVersion(topics, ros.stateTopic);
      if (spoken && spoken.version !== ros.rosVersion) {
        say(
          'problem',
          `${describeSpokenVersion(spoken)}, but ros.rosVersion is ${ros.rosVersion}: set ros.rosVersion: ${spoken.version} ` +
            `(this check goes on with ROS ${spoken.version} names)`,
        );
        // With the config's spelling a ROS 1 bridge refuses the subscription and the state topic
        // looks silent: go on in the bridge's own, so the rest of the report is about the robot.
        types = messageTypes(spoken.version);
      } else if (spoken) {
        say('ok', `rosbridge speaks ROS ${spoken.version}, as configured`);
      }
      checkTopics(topics, config, types, say);
    } else {
      say('problem', `rosapi did not list the topics (${listed.why}); is rosapi running next to rosbridge?`);
    }
    await checkCommandSubscribers(client, config, topics, types, timeoutMs, say);

    await watchState(client, ros.stateTopic, types.jointState, listenSec, now, state, say);
    checkJoints(config, state, say);
    return report(true);
  } finally {
    client.close();
  }
}

type Say = (level: CheckLevel, text: string) => void;

/** The command topics a run publishes on: role, name, message type. */
function commandTopics(config: RobotConfig, types: MessageTypes): [string, string, string][] {
  const ros = config.ros!;
  const out: [string, string, string][] = [
    [
      'command topic',
      ros.command.topic,
      ros.command.type === 'velocity' ? types.float64MultiArray : types.jointTrajectory,
    ],
  ];
  if (ros.gripperCommandTopic && config.gripper)
    out.push(['gripper command topic', ros.gripperCommandTopic, types.float64MultiArray]);
  return out;
}

function checkTopics(
  topics: readonly ListedTopic[],
  config: RobotConfig,
  types: MessageTypes,
  say: Say,
): void {
  const ros = config.ros!;
  const typeOf = new Map(topics.map((t) => [t.name, t.type]));
  const check = (
    role: string,
    name: string,
    expected: string,
    absent?: { level: CheckLevel; note: string },
  ) => {
    const type = typeOf.get(name);
    if (type === undefined) {
      if (absent) say(absent.level, `${role} ${name} is not advertised${absent.note}`);
    } else if (!sameMessageType(type, expected))
      say('problem', `${role} ${name} has type ${type}, expected ${expected}`);
    else say('ok', `${role} ${name} (${type})`);
  };
  check('state topic', ros.stateTopic, types.jointState, { level: 'problem', note: '' });
  // A controller only subscribes to its command topic and ROS 1's rosapi lists published topics
  // only, so an unlisted command topic says nothing: who subscribes to it decides (below).
  for (const [role, name, type] of commandTopics(config, types)) check(role, name, type);
  const needsPublisher = { level: 'problem' as const, note: ': nothing publishes it' };
  if (ros.objectPoseTopic) check('object pose topic', ros.objectPoseTopic, types.poseStamped, needsPublisher);
  if (ros.goalPoseTopic) check('goal pose topic', ros.goalPoseTopic, types.poseStamped, needsPublisher);
  if (ros.estopTopic) check('e-stop topic', ros.estopTopic, types.bool, needsPublisher);
}

/**
 * A command topic nobody subscribes to is a problem (issue #17): a misnamed topic, or a controller
 * that is not running, takes every command of a run and moves nothing.
 */
async function checkCommandSubscribers(
  client: Ros,
  config: RobotConfig,
  topics: readonly ListedTopic[],
  types: MessageTypes,
  timeoutMs: number,
  say: Say,
): Promise<void> {
  for (const [role, name, type] of commandTopics(config, types)) {
    const subscribers = await listSubscribers(client, name, timeoutMs);
    if (!subscribers.ok) {
      say('warning', `rosapi did not tell who subscribes to the ${role} ${name} (${subscribers.why})`);
    } else if (subscribers.value.length === 0) {
      const sameType = topics
        .filter((t) => t.name !== name && sameMessageType(t.type, type))
        .map((t) => t.name);
      say(
        'problem',
        `nobody subscribes to the ${role} ${name}, so commands sent there would move nothing: ` +
          `is the controller running, and is ${name} its topic?` +
          (sameType.length > 0 ? ` (topics of type ${type}: ${sameType.join(', ')})` : ''),
      );
    } else {
      say('ok', `${role} ${name} has subscribers: ${subscribers.value.join(', ')}`);
    }
  }
}

async function watchState(
  client: Ros,
  topicName: string,
  messageType: string,
  listenSec: number,
  now: () => number,
  state: { messages: number; rejected: number; rateHz: number | undefined; jointNames: string[] },
  say: Say,
): Promise<void> {
  const seen = new Set<string>();
  let first: number | undefined;
  let last: number | undefined;
  let valid = 0;
  let lastRejection: string | undefined;
  const topic = new Topic<unknown>({ ros: client, name: topicName, messageType, reconnect_on_close: false });
  topic.subscribe((msg) => {
    state.messages++;
    const reading = parseJointState(msg);
    if (!reading.ok) {
      state.rejected++;
      lastRejection = reading.reason;
      return;
    }
    valid++;
    const t = now();
    first ??= t;
    last = t;
    for (const n of reading.value.names) {
      if (!seen.has(n)) {
        seen.add(n);
        state.jointNames.push(n);
      }
    }
  });
  await new Promise((r) => setTimeout(r, listenSec * 1000));
  if (client.isConnected) topic.unsubscribe();
  if (valid >= 2 && first !== undefined && last !== undefined && last > first) {
    state.rateHz = ((valid - 1) * 1000) / (last - first);
  }
  if (state.rejected > 0) {
    say(
      valid === 0 ? 'problem' : 'warning',
      `${state.rejected} of ${state.messages} messages on ${topicName} were malformed (last: ${lastRejection})`,
    );
  }
  if (valid === 0) {
    say('problem', `no valid joint state on ${topicName} in ${listenSec} s`);
  }
}

function checkJoints(
  config: RobotConfig,
  state: { topic: string; rateHz: number | undefined; jointNames: readonly string[] },
  say: Say,
): void {
  if (state.jointNames.length === 0) return;
  const ros = config.ros!;
  const arm = ros.jointNames ?? config.arm.joints;
  const fingers = config.gripper ? (ros.gripperJointNames ?? config.gripper.joints) : [];
  const seen = new Set(state.jointNames);
  const missingArm = arm.filter((n) => !seen.has(n));
  if (missingArm.length > 0) {
    say(
      'problem',
      `${state.topic} lacks arm joints ${missingArm.join(', ')} (it has: ${state.jointNames.join(', ')})`,
    );
  } else {
    say('ok', `${state.topic} has all ${arm.length} arm joints`);
  }
  const missingFingers = fingers.filter((n) => !seen.has(n));
  if (missingFingers.length > 0) {
    say(
      'warning',
      `${state.topic} lacks finger joints ${missingFingers.join(', ')}: the gripper width will be unknown`,
    );
  }
  const known = new Set([...arm, ...fingers]);
  const extra = state.jointNames.filter((n) => !known.has(n));
  if (extra.length > 0)
    say('warning', `${state.topic} also has ${extra.join(', ')} (not in the config; ignored)`);
  if (state.rateHz !== undefined) {
    // The loop's watchdog holds the robot once state is older than maxStateAgeMs.
    const minHz = 1000 / config.safety.maxStateAgeMs;
    const rate = `${state.topic} at ${state.rateHz.toFixed(1)} Hz`;
    if (state.rateHz < minHz) {
      say(
        'problem',
        `${rate}: slower than the ${minHz.toFixed(0)} Hz that safety.maxStateAgeMs (${config.safety.maxStateAgeMs} ms) needs; the watchdog would hold the robot`,
      );
    } else {
      say('ok', rate);
    }
  }
}
