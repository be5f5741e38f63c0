import { performance } from 'node:perf_hooks';
import { Ros, Topic } from 'roslib';
import type { RobotConfig } from '../../robot-config/robot-config.js';
import type { RosInterfaceConfig } from '../../robot-config/ros-config.js';
import {
  type JointCommand,
  type Robot,
  RobotError,
  type RobotLink,
  RobotMismatchError,
  type RobotSpec,
  type RobotState,
  type StopOutcome,
  type TaskFramePose,
} from '../robot.js';
import {
  errorText,
  float64MultiArray,
  type JointStateReading,
  jointTrajectory,
  type MessageTypes,
  messageTypes,
  parseBool,
  parseJointState,
  parsePoseStamped,
  sameMessageType,
  selectJoints,
} from './messages.js';
import { describeSpokenVersion, listSubscribers, listTopics, spokenRosVersion } from './rosapi.js';

/** Longest wait for one rosapi answer while connecting (ms); rosapi is optional, so not the connect timeout. */
const ROSAPI_TIMEOUT_MS = 3000;

/**
 * Slack (rad) on where the arm may be after a gap in its joint states, beyond what the commands
 * sent explain and the braking from full speed: measurement noise and a controller's tracking lag.
 */
const JUMP_TOLERANCE_RAD = 0.05;

const IMPOSSIBLE_STOP_ACTION =
  'stop the arm at the robot now (its e-stop): it keeps its last command unless its controller has a command timeout';
const UNCONFIRMED_STOP_ACTION = 'check the arm: if it is still moving, stop it at the robot (its e-stop)';

/** How a {@link RosRobot} is run. */
export interface RosRobotOptions {
  /** The control loop's clock (ms): every state is stamped with it on arrival. */
  readonly now: () => number;
  /** What to do when a lost link comes back (default: the config's `safety.onReconnect`). */
  readonly onReconnect?: 'resume' | 'stop';
  /** Where link events and dropped messages are told (default: nowhere). */
  readonly log?: (line: string) => void;
}

/** Counters for run reports. */
export interface RosRobotStats {
  /** Messages that arrived on the subscribed topics (state, poses, e-stop), plus undecodable frames. */
  readonly messagesReceived: number;
  /** Of those, the ones a guard refused (wrong shape, missing joints, bad JSON). */
  readonly messagesRejected: number;
  /** Why the last refused message was refused. */
  readonly lastRejection: string | undefined;
  /** Times the link came back after a loss. */
  readonly reconnects: number;
  /** Commands published (arm commands from act() and stop()). */
  readonly commandsSent: number;
  /** act() calls that sent nothing: link down, no fresh state yet, or a fault latched. */
  readonly commandsDropped: number;
  /**
   * Times the joint states came back after a gap (longer than `safety.maxStateAgeMs`, or a link
   * loss), each checked against where the commands sent could have taken the arm.
   */
  readonly stateGaps: number;
}

type Phase = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'lost' | 'closed';

/** One WebSocket connection with its own roslib objects; nothing survives from one to the next. */
interface Session {
  readonly ros: Ros;
  /** Socket open (roslib's `connection` seen, `close` not yet). */
  open: boolean;
  disposed: boolean;
  readonly subscribed: Topic<unknown>[];
  readonly advertised: Topic<unknown>[];
  command?: Topic<unknown>;
  gripper?: Topic<unknown>;
}

/** Where the arm was last seen, and the motion the commands sent since then can explain. */
interface LastSeen {
  readonly positions: Float64Array;
  /** Arrival on the loop clock (ms). */
  readonly atMs: number;
  /** Set when the link was lost after this state: the next state is checked whatever the gap. */
  linkLost: boolean;
}

/** A safe stop waiting for a fresh state that shows the arm at rest. */
interface StopWatch {
  onState(state: RobotState, velocitiesMeasured: boolean): void;
  onLinkLost(why: string): void;
}

/** Why the socket is not usable, for the connect error. */
interface ConnectProgress {
  socketOpened: boolean;
  lastSocketError: string | undefined;
  statesSeen: number;
}

/**
 * A real arm behind rosbridge v2 (roslib). Reads `sensor_msgs/JointState` by joint name, sends
 * joint velocities (`std_msgs/Float64MultiArray`) or one-point trajectories, and handles the
 * link itself: roslib does not reconnect, and while disconnected it queues what is published and
 * replays it on the next connection, so this class checks the socket before every publish and
 * builds a fresh `Ros` (and fresh topics) for every connection — a stale command can never reach
 * the robot late.
 *
 * Link: `connecting`/`reconnecting` read as `reconnecting`, `connected` once the socket is open
 * AND a valid state arrived on it, `lost` after a failed connect, a loss not repaired within
 * `ros.reconnect.timeoutMs`, or close(). A fault (e-stop, lost link, reconnect under
 * `onReconnect: stop`, a jump in the joint states after a gap) is latched: act() sends nothing
 * afterwards, stop() still does.
 *
 * Before the first connect resolves, rosapi is asked (where it answers) which ROS generation the
 * bridge speaks and who subscribes to the command topics: a mismatch rejects with a
 * {@link RobotMismatchError} before anything is commanded. stop() reports what it achieved: it
 * waits, bounded by `safety.stopConfirmTimeoutMs`, for a state that shows the arm at rest.
 */
export class RosRobot implements Robot {
  readonly spec: RobotSpec;
  private readonly ros: RosInterfaceConfig;
  private readonly config: RobotConfig;
  private readonly now: () => number;
  private readonly onReconnect: 'resume' | 'stop';
  private readonly log: (line: string) => void;
  private readonly types: MessageTypes;
  private readonly armNames: readonly string[];
  private readonly fingerNames: readonly string[] | undefined;

  private phase: Phase = 'idle';
  private session: Session | undefined;
  private latest: RobotState | undefined;
  private object: TaskFramePose | undefined;
  private goalPositionM: Float64Array | undefined;
  private previous: { positions: Float64Array; stampSec: number | undefined } | undefined;
  private faultReason: string | undefined;
  private estopActive = false;
  private readonly faultListeners: ((reason: string) => void)[] = [];

  private retryTimer: NodeJS.Timeout | undefined;
  private giveUpTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private progress: ConnectProgress = { socketOpened: false, lastSocketError: undefined, statesSeen: 0 };
  private pendingConnect: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /** rosapi's answers were checked (or rosapi could not answer) for the first connect. */
  private bridgeChecked = false;

  private lastSeen: LastSeen | undefined;
  /** Displacement (rad) the commands sent since `lastSeen` explain, up to `commandSinceMs`. */
  private commandedDrift: Float64Array;
  /** The velocity last commanded: the arm's controller keeps it until the next command. */
  private lastCommand: Float64Array;
  /** From when (loop clock, ms) `lastCommand` counts toward the drift. */
  private commandSinceMs = 0;
  private stopWatch: StopWatch | undefined;
  /**
   * stop() was called and nothing commanded since: gaps are not checked (there is no command to
   * hold back, and a run's report is already written); the next act() checks again.
   */
  private stopRequested = false;

  private counters = {
    messagesReceived: 0,
    messagesRejected: 0,
    lastRejection: undefined as string | undefined,
    reconnects: 0,
    commandsSent: 0,
    commandsDropped: 0,
    stateGaps: 0,
  };

  constructor(config: RobotConfig, options: RosRobotOptions) {
    if (!config.ros) {
      throw new RobotError(
        `robot '${config.name}' has no 'ros:' section in its config, so it cannot be reached over rosbridge; ` +
          'add one (see config/robots/panda-ros.yaml)',
      );
    }
    this.config = config;
    this.ros = config.ros;
    this.now = options.now;
    this.onReconnect = options.onReconnect ?? config.safety.onReconnect;
    this.log = options.log ?? (() => {});
    this.types = messageTypes(this.ros.rosVersion);
    this.armNames = this.ros.jointNames ?? config.arm.joints;
    this.fingerNames = config.gripper ? (this.ros.gripperJointNames ?? config.gripper.joints) : undefined;
    this.retryDelayMs = this.ros.reconnect.initialDelayMs;
    this.commandedDrift = new Float64Array(this.armNames.length);
    this.lastCommand = new Float64Array(this.armNames.length);
    this.spec = {
      name: config.name,
      jointNames: [...config.arm.joints],
      hasGripper: config.gripper !== undefined,
    };
  }

  /** The rosbridge URL. */
  get url(): string {
    return this.ros.url;
  }

  stats(): RosRobotStats {
    return { ...this.counters };
  }

  link(): RobotLink {
    if (this.phase === 'connected') return 'connected';
    if (this.phase === 'connecting' || this.phase === 'reconnecting') return 'reconnecting';
    return 'lost';
  }

  onFault(listener: (reason: string) => void): void {
    this.faultListeners.push(listener);
  }

  observe(): RobotState | undefined {
    return this.latest;
  }

  /**
   * Resolves once the socket is open and a first valid joint state arrived; retries with backoff
   * until `ros.reconnect.timeoutMs`, then rejects naming the URL and what was missing.
   */
  connect(): Promise<void> {
    if (this.phase === 'connected') return Promise.resolve();
    if (this.phase !== 'idle') {
      return Promise.reject(
        new RobotError(`connect(): the robot at ${this.url} is ${this.phase}; make a new one`),
      );
    }
    this.phase = 'connecting';
    this.progress = { socketOpened: false, lastSocketError: undefined, statesSeen: 0 };
    const timeoutMs = this.ros.reconnect.timeoutMs;
    return new Promise<void>((resolve, reject) => {
      this.pendingConnect = { resolve, reject };
      this.giveUpTimer = setTimeout(() => {
        const why = this.connectFailureReason();
        this.teardown('lost');
        this.settleConnect(
          new RobotError(
            `could not connect to the robot at ${this.url} within ${timeoutMs / 1000} s: ${why}`,
          ),
        );
      }, timeoutMs);
      this.openSession();
    });
  }

  act(command: JointCommand): JointCommand | undefined {
    const v = command.jointVelocities;
    if (v.length !== this.armNames.length) {
      throw new RobotError(`act(): ${v.length} joint velocities for ${this.armNames.length} arm joints`);
    }
    // The safety filter already refuses these; a NaN must still never reach hardware.
    if (!v.every(Number.isFinite) || (command.gripper !== undefined && !Number.isFinite(command.gripper))) {
      throw new RobotError('act(): a command with a non-finite value');
    }
    const s = this.usableSession();
    const state = this.latest;
    if (!s || !state || this.faultReason !== undefined) {
      this.counters.commandsDropped++;
      return undefined;
    }
    this.publishArm(s, state, v);
    this.noteCommand(v);
    this.stopRequested = false;
    let gripper: number | undefined;
    if (command.gripper !== undefined && s.gripper && this.config.gripper) {
      gripper = Math.max(-1, Math.min(1, command.gripper));
      const { openCtrl, closedCtrl } = this.config.gripper;
      const t = (gripper + 1) / 2;
      const target = closedCtrl + t * (openCtrl - closedCtrl);
      this.publish(s.gripper, float64MultiArray(this.fingerNames!.map(() => target)));
    }
    this.counters.commandsSent++;
    const sent = Float64Array.from(v);
    return gripper === undefined ? { jointVelocities: sent } : { jointVelocities: sent, gripper };
  }

  /**
   * Zero joint velocity (velocity mode) or a hold point at the current positions (trajectory
   * mode); the gripper is left as it is. Then waits, at most `safety.stopConfirmTimeoutMs`, for a
   * joint state that shows the arm at rest, and says what happened: `confirmed`, `unconfirmed`
   * (sent, but no state showed the arm at rest), or `impossible` (the link is down: nothing could
   * be sent, and the robot's own controller decides what the arm does).
   */
  async stop(): Promise<StopOutcome> {
    this.stopRequested = true;
    const s = this.usableSession();
    const state = this.latest;
    if (!s || !state) {
      const why =
        this.phase === 'closed' ? `the robot at ${this.url} was closed` : `the link to ${this.url} is down`;
      this.log(`stop: ${why}; no stop command sent`);
      return {
        kind: 'impossible',
        detail: `${why}: no stop command could be sent`,
        operatorAction: IMPOSSIBLE_STOP_ACTION,
      };
    }
    const zero = new Float64Array(this.armNames.length);
    this.publishArm(s, state, zero);
    this.noteCommand(zero);
    this.counters.commandsSent++;
    const what =
      this.ros.command.type === 'velocity' ? 'zero joint velocity' : 'a hold point at the measured positions';
    const rest = await this.waitForRest();
    if (rest.ok) {
      this.log(`stop: ${what} sent; the arm is at rest`);
      return {
        kind: 'confirmed',
        detail: `${what} sent; a joint state ${rest.afterMs.toFixed(0)} ms later shows every joint slower than ${this.config.safety.restJointVelRadPerSec} rad/s`,
      };
    }
    this.log(`stop: ${what} sent, but ${rest.why}`);
    return {
      kind: 'unconfirmed',
      detail: `${what} sent, but ${rest.why}`,
      operatorAction: UNCONFIRMED_STOP_ACTION,
    };
  }

  /**
   * Waits for a state, arrived after the stop command, that shows the arm at rest: measured joint
   * velocities (or velocities from header stamps) all below the rest speed, or, where the driver
   * sends no velocity, two fresh states whose positions moved no faster than that.
   */
  private waitForRest(): Promise<{ ok: true; afterMs: number } | { ok: false; why: string }> {
    const { stopConfirmTimeoutMs: timeoutMs, restJointVelRadPerSec: restVel } = this.config.safety;
    const sentAt = performance.now();
    return new Promise((resolve) => {
      let states = 0;
      let fastest: { joint: string; speed: number } | undefined;
      let previous: { positions: Float64Array; at: number } | undefined;
      const finish = (result: { ok: true; afterMs: number } | { ok: false; why: string }) => {
        if (this.stopWatch !== watch) return;
        this.stopWatch = undefined;
        clearTimeout(timer);
        resolve(result);
      };
      const watch: StopWatch = {
        onState: (state, velocitiesMeasured) => {
          states++;
          const at = performance.now();
          const speeds = velocitiesMeasured
            ? Array.from(state.jointVelocities, Math.abs)
            : previous
              ? Array.from(
                  state.jointPositions,
                  (q, i) =>
                    Math.abs(q - previous!.positions[i]!) / Math.max((at - previous!.at) / 1000, 1e-3),
                )
              : undefined;
          previous = { positions: state.jointPositions, at };
          if (!speeds) return;
          let k = 0;
          for (let i = 1; i < speeds.length; i++) if (speeds[i]! > speeds[k]!) k = i;
          if (speeds[k]! < restVel) finish({ ok: true, afterMs: at - sentAt });
          else fastest = { joint: this.armNames[k]!, speed: speeds[k]! };
        },
        onLinkLost: (why) => finish({ ok: false, why: `${why} before a joint state showed the arm at rest` }),
      };
      const timer = setTimeout(
        () =>
          finish({
            ok: false,
            why:
              states === 0
                ? `no joint state arrived on ${this.ros.stateTopic} within ${timeoutMs} ms to confirm it`
                : fastest
                  ? `${fastest.joint} was still moving at ${fastest.speed.toFixed(3)} rad/s ${timeoutMs} ms later`
                  : `the joint states within ${timeoutMs} ms could not show the arm at rest`,
          }),
        timeoutMs,
      );
      this.stopWatch = watch;
    });
  }

  async close(): Promise<void> {
    if (this.phase === 'closed') return;
    const s = this.session;
    this.teardown('closed');
    this.settleConnect(new RobotError(`the robot at ${this.url} was closed while connecting`));
    if (s?.open) await this.waitForClose(s);
  }

  // -- connection -----------------------------------------------------------------------------

  private openSession(): void {
    const ros = new Ros({});
    const s: Session = { ros, open: false, disposed: false, subscribed: [], advertised: [] };
    this.session = s;
    ros.on('connection', () => this.safely(() => s === this.session && this.onOpen(s)));
    ros.on('close', () => this.safely(() => s === this.session && this.onSocketClosed(s)));
    ros.on('error', (event) => this.safely(() => s === this.session && this.onTransportError(event)));
    ros.on('status', (msg) =>
      this.safely(() => {
        if (s === this.session) this.log(`rosbridge status: ${JSON.stringify(msg)}`);
      }),
    );
    ros.connect(this.url).then(
      () => {
        // Disposed while roslib was still creating the socket: close it now.
        if (s.disposed) ros.close();
      },
      (error: unknown) =>
        this.safely(() => {
          if (s !== this.session) return;
          this.progress.lastSocketError = errorText(error);
          this.onSocketClosed(s);
        }),
    );
  }

  private onOpen(s: Session): void {
    s.open = true;
    this.progress.socketOpened = true;
    const topic = (name: string, messageType: string) =>
      // reconnect_on_close off: this class reconnects with fresh objects, roslib must not re-send.
      new Topic<unknown>({ ros: s.ros, name, messageType, reconnect_on_close: false, queue_length: 1 });
    const subscribe = (name: string, type: string, handler: (msg: unknown) => void) => {
      const t = topic(name, type);
      t.subscribe((msg) => this.safely(() => s === this.session && handler(msg)));
      s.subscribed.push(t);
    };
    subscribe(this.ros.stateTopic, this.types.jointState, (m) => this.onJointState(m));
    const { objectPoseTopic, goalPoseTopic, estopTopic, gripperCommandTopic, command } = this.ros;
    if (objectPoseTopic) subscribe(objectPoseTopic, this.types.poseStamped, (m) => this.onObjectPose(m));
    if (goalPoseTopic) subscribe(goalPoseTopic, this.types.poseStamped, (m) => this.onGoalPose(m));
    if (estopTopic) subscribe(estopTopic, this.types.bool, (m) => this.onEstop(m));
    s.command = topic(
      command.topic,
      command.type === 'velocity' ? this.types.float64MultiArray : this.types.jointTrajectory,
    );
    s.command.advertise();
    s.advertised.push(s.command);
    if (gripperCommandTopic && this.fingerNames) {
      s.gripper = topic(gripperCommandTopic, this.types.float64MultiArray);
      s.gripper.advertise();
      s.advertised.push(s.gripper);
    }
    this.log(`socket to ${this.url} open; waiting for a joint state on ${this.ros.stateTopic}`);
    if (this.phase === 'connecting' && !this.bridgeChecked) void this.checkBridge(s);
  }

  /**
   * Asks rosapi, before the first connect resolves, whether the bridge is the one the config
   * describes: the ROS generation its type names are spelled in (a wrong `rosVersion` otherwise
   * shows only as a state topic that stays silent), and a subscriber on every command topic (a
   * misnamed one would take every command and move nothing). A mismatch rejects the connect;
   * rosapi not answering is logged and does not stop the run (rosapi is optional).
   */
  private async checkBridge(s: Session): Promise<void> {
    const timeoutMs = Math.min(ROSAPI_TIMEOUT_MS, this.ros.reconnect.timeoutMs);
    const stale = () => s !== this.session || s.disposed || this.pendingConnect === undefined;
    const problems: string[] = [];
    const unanswered: string[] = [];
    const topics = await listTopics(s.ros, timeoutMs);
    if (stale()) return;
    if (topics.ok) {
      const spoken = spokenRosVersion(topics.value, this.ros.stateTopic);
      if (spoken && spoken.version !== this.ros.rosVersion) {
        problems.push(
          `${describeSpokenVersion(spoken)}, but ros.rosVersion is ${this.ros.rosVersion}: set ros.rosVersion: ${spoken.version}`,
        );
      }
    } else {
      unanswered.push(`the topic list (${topics.why})`);
    }
    const commandTopics: [string, string, string][] = [
      [
        'command topic',
        this.ros.command.topic,
        this.ros.command.type === 'velocity' ? this.types.float64MultiArray : this.types.jointTrajectory,
      ],
    ];
    if (this.ros.gripperCommandTopic && this.fingerNames) {
      commandTopics.push([
        'gripper command topic',
        this.ros.gripperCommandTopic,
        this.types.float64MultiArray,
      ]);
    }
    for (const [role, name, type] of commandTopics) {
      const subscribers = await listSubscribers(s.ros, name, timeoutMs);
      if (stale()) return;
      if (!subscribers.ok) {
        unanswered.push(`the subscribers of ${name} (${subscribers.why})`);
      } else if (subscribers.value.length === 0) {
        const sameType = topics.ok
          ? topics.value.filter((t) => t.name !== name && sameMessageType(t.type, type)).map((t) => t.name)
          : [];
        problems.push(
          `nobody subscribes to the ${role} ${name}, so commands sent there would move nothing: ` +
            `is the controller running, and is ${name} its topic?` +
            (sameType.length > 0 ? ` (topics of type ${type}: ${sameType.join(', ')})` : ''),
        );
      }
    }
    if (problems.length > 0) {
      this.teardown('lost');
      this.settleConnect(
        new RobotMismatchError(
          `the robot at ${this.url} does not match robot '${this.config.name}' (nothing was commanded): ${problems.join('; ')}`,
        ),
      );
      return;
    }
    if (unanswered.length > 0) {
      this.log(
        `rosapi did not tell ${unanswered.join(', or ')}; the ROS version and command subscribers are not checked`,
      );
    }
    this.bridgeChecked = true;
    if (this.phase === 'connected') this.settleConnect();
  }

  /** The first valid state on a new socket: the link is up. */
  private onBack(): void {
    this.clearTimers();
    this.retryDelayMs = this.ros.reconnect.initialDelayMs;
    const wasReconnect = this.phase === 'reconnecting';
    this.phase = 'connected';
    if (!wasReconnect) {
      this.log(`connected to ${this.url}`);
      // The bridge check (rosapi) may still be under way; it settles the connect when it is done.
      if (this.bridgeChecked) this.settleConnect();
      return;
    }
    this.counters.reconnects++;
    this.log(`the link to ${this.url} is back`);
    if (this.onReconnect === 'stop')
      this.fault(`the link to ${this.url} came back; safety.onReconnect is 'stop'`);
  }

  private onSocketClosed(s: Session): void {
    // A failed connect can be reported twice (the connect promise and the close event).
    if (s.disposed) return;
    s.open = false;
    this.disposeSession(s);
    if (this.phase === 'connected') {
      // Never act on pre-disconnect state: the loop's watchdog sees "no state" and holds.
      this.latest = undefined;
      this.object = undefined;
      this.goalPositionM = undefined;
      this.previous = undefined;
      this.phase = 'reconnecting';
      if (this.lastSeen) this.lastSeen.linkLost = true;
      this.stopWatch?.onLinkLost(`the link to ${this.url} dropped`);
      const closedAt = new Date().toISOString();
      const timeoutMs = this.ros.reconnect.timeoutMs;
      this.log(`rosbridge at ${this.url} closed at ${closedAt}; reconnecting`);
      this.giveUpTimer = setTimeout(
        () =>
          this.safely(() => {
            this.teardown('lost');
            this.fault(
              `rosbridge at ${this.url} closed at ${closedAt} and did not come back within ${timeoutMs / 1000} s`,
            );
          }),
        timeoutMs,
      );
      this.retryDelayMs = this.ros.reconnect.initialDelayMs;
      this.scheduleRetry();
      return;
    }
    if (this.phase === 'connecting' || this.phase === 'reconnecting') this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(delay * 2, this.ros.reconnect.maxDelayMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.safely(() => {
        if (this.phase === 'connecting' || this.phase === 'reconnecting') this.openSession();
      });
    }, delay);
  }

  private onTransportError(event: unknown): void {
    if (event instanceof Error) {
      // roslib could not decode a frame (bad JSON, not a rosbridge op): count it like a bad message.
      this.counters.messagesReceived++;
      this.reject(`rosbridge sent an undecodable frame (${event.message})`);
      return;
    }
    this.progress.lastSocketError = errorText(event);
  }

  // -- inbound --------------------------------------------------------------------------------

  private reject(reason: string): void {
    this.counters.messagesRejected++;
    this.counters.lastRejection = reason;
  }

  private onJointState(msg: unknown): void {
    this.counters.messagesReceived++;
    const topic = this.ros.stateTopic;
    const reading = parseJointState(msg);
    if (!reading.ok) {
      this.reject(`joint state on ${topic}: ${reading.reason}`);
      return;
    }
    const arm = selectJoints(reading.value, this.armNames);
    if (!arm.ok) {
      this.reject(`joint state on ${topic} ${arm.reason}`);
      return;
    }
    this.progress.statesSeen++;
    const differenced = arm.value.velocities
      ? undefined
      : this.differenced(reading.value, arm.value.positions);
    const velocitiesMeasured = arm.value.velocities !== undefined || differenced !== undefined;
    const velocities = arm.value.velocities ?? differenced ?? new Float64Array(arm.value.positions.length);
    this.previous = { positions: arm.value.positions, stampSec: reading.value.stampSec };
    // Fingers may come on another topic (a separate gripper driver): then the width is unknown.
    const fingers = this.fingerNames ? selectJoints(reading.value, this.fingerNames) : undefined;
    const gripperWidthM = fingers?.ok ? fingers.value.positions.reduce((a, b) => a + b, 0) : undefined;
    this.latest = this.withPoses({
      stampMs: this.now(),
      jointPositions: arm.value.positions,
      jointVelocities: velocities,
      ...(gripperWidthM === undefined ? {} : { gripperWidthM }),
    });
    this.checkContinuity(arm.value.positions);
    if (this.phase === 'connecting' || this.phase === 'reconnecting') this.onBack();
    this.stopWatch?.onState(this.latest, velocitiesMeasured);
  }

  /** Counts a command toward the motion that explains where the arm is at the next state. */
  private noteCommand(v: Float64Array): void {
    const now = this.now();
    const since = Math.max(0, now - this.commandSinceMs) / 1000;
    for (let i = 0; i < v.length; i++) this.commandedDrift[i]! += this.lastCommand[i]! * since;
    this.lastCommand.set(v);
    this.commandSinceMs = now;
  }

  /**
   * After a gap in the joint states (longer than `safety.maxStateAgeMs`, so the loop's watchdog
   * held the arm, or a link loss), checks that the arm is where the commands sent could have
   * taken it, and otherwise faults.
   *
   * Why a fault, not a quiet resume (issue #17): the arm moved while nobody watched it (a reset,
   * a person, a collision, a driver that came back re-zeroed). The prior's phase machine, the
   * goal and the recording all assume the world the run last saw; a careful engineer stops
   * there, and lets a person look at the arm and the scene before a new run. Settling on fresh
   * state would resume commanding an arm whose last seconds nobody can account for.
   *
   * Where it could legitimately be, per joint: anywhere between where it was (stopped at once)
   * and where the commands sent would have taken it (each held until the next, the last one held
   * since; during a link loss that is a controller without a command timeout), widened by the
   * distance to brake from full speed at `safety.maxJointAccRadPerSec2` and {@link JUMP_TOLERANCE_RAD}.
   */
  private checkContinuity(positions: Float64Array): void {
    const now = this.now();
    const before = this.lastSeen;
    const gap = before && (before.linkLost || now - before.atMs > this.config.safety.maxStateAgeMs);
    if (before && gap && !this.stopRequested) {
      this.counters.stateGaps++;
      const gapMs = now - before.atMs;
      const acc = this.config.safety.maxJointAccRadPerSec2;
      const since = Math.max(0, now - this.commandSinceMs) / 1000;
      let worst: { i: number; moved: number; allowed: number; excess: number } | undefined;
      for (let i = 0; i < positions.length; i++) {
        const commanded = this.commandedDrift[i]! + this.lastCommand[i]! * since;
        const vMax = this.config.arm.maxJointVelRadPerSec[i]!;
        const a = Array.isArray(acc) ? acc[i]! : acc;
        const slack = (vMax * vMax) / (2 * a) + JUMP_TOLERANCE_RAD;
        const moved = positions[i]! - before.positions[i]!;
        const excess = Math.max(Math.min(0, commanded) - moved, moved - Math.max(0, commanded)) - slack;
        if (!worst || excess > worst.excess)
          worst = { i, moved, allowed: Math.abs(commanded) + slack, excess };
      }
      const why = before.linkLost ? `a link loss` : `${gapMs.toFixed(0)} ms without joint states`;
      if (worst && worst.excess > 0) {
        const joint = this.armNames[worst.i]!;
        this.fault(
          `joint states came back after ${why} with ${joint} ${Math.abs(worst.moved).toFixed(3)} rad from where it was ` +
            `(the commands sent explain at most ${worst.allowed.toFixed(3)} rad): the arm moved while it was not observed ` +
            `(reset, pushed, or a driver restart); check the arm and the scene, then start a new run`,
        );
      } else {
        this.log(
          `joint states are back after ${why}; the arm is where the commands sent could have taken it; going on`,
        );
      }
    }
    this.lastSeen = { positions, atMs: now, linkLost: false };
    this.commandedDrift.fill(0);
    this.commandSinceMs = now;
  }

  /**
   * Velocities from two readings' header stamps when the driver leaves `velocity` empty;
   * undefined when they cannot be had (no stamps, first reading): the state then carries zeros.
   */
  private differenced(reading: JointStateReading, positions: Float64Array): Float64Array | undefined {
    const prev = this.previous;
    const dt =
      prev?.stampSec !== undefined && reading.stampSec !== undefined ? reading.stampSec - prev.stampSec : 0;
    if (!prev || !(dt > 0 && dt <= 1)) return undefined;
    const out = new Float64Array(positions.length);
    for (let i = 0; i < out.length; i++) out[i] = (positions[i]! - prev.positions[i]!) / dt;
    return out;
  }

  private withPoses(state: RobotState): RobotState {
    const { object: _o, goalPositionM: _g, ...rest } = state;
    return {
      ...rest,
      ...(this.object ? { object: this.object } : {}),
      ...(this.goalPositionM ? { goalPositionM: this.goalPositionM } : {}),
    };
  }

  private onObjectPose(msg: unknown): void {
    this.counters.messagesReceived++;
    const pose = parsePoseStamped(msg);
    if (!pose.ok) {
      this.reject(`object pose on ${this.ros.objectPoseTopic}: ${pose.reason}`);
      return;
    }
    this.object = pose.value;
    if (this.latest) this.latest = this.withPoses(this.latest);
  }

  private onGoalPose(msg: unknown): void {
    this.counters.messagesReceived++;
    const pose = parsePoseStamped(msg);
    if (!pose.ok) {
      this.reject(`goal pose on ${this.ros.goalPoseTopic}: ${pose.reason}`);
      return;
    }
    this.goalPositionM = pose.value.positionM;
    if (this.latest) this.latest = this.withPoses(this.latest);
  }

  private onEstop(msg: unknown): void {
    this.counters.messagesReceived++;
    const pressed = parseBool(msg);
    if (!pressed.ok) {
      this.reject(`e-stop on ${this.ros.estopTopic}: ${pressed.reason}`);
      return;
    }
    if (pressed.value && !this.estopActive) this.fault(`e-stop on ${this.ros.estopTopic}`);
    this.estopActive = pressed.value;
  }

  // -- outbound -------------------------------------------------------------------------------

  /** The session, if commands can go out right now: link up and the socket open. */
  private usableSession(): Session | undefined {
    const s = this.session;
    // roslib's isConnected turns false on the socket's close event; publishing then would be
    // queued by roslib and replayed on a later connection, so the check comes first, always.
    return this.phase === 'connected' && s?.open && s.ros.isConnected && s.command ? s : undefined;
  }

  private publishArm(s: Session, state: RobotState, v: Float64Array): void {
    const cmd = this.ros.command;
    const msg =
      cmd.type === 'velocity'
        ? float64MultiArray(v)
        : jointTrajectory({
            jointNames: this.armNames,
            positions: state.jointPositions,
            velocities: v,
            horizonSec: cmd.horizonSec,
            rosVersion: this.ros.rosVersion,
          });
    this.publish(s.command!, msg);
  }

  private publish(topic: Topic<unknown>, msg: unknown): void {
    try {
      topic.publish(msg);
    } catch (error) {
      throw new RobotError(`could not publish on ${topic.name} to ${this.url}: ${errorText(error)}`, {
        cause: error,
      });
    }
  }

  // -- faults and teardown --------------------------------------------------------------------

  private fault(reason: string): void {
    this.faultReason ??= reason;
    this.log(`fault: ${reason}`);
    for (const listener of this.faultListeners) {
      try {
        listener(reason);
      } catch (error) {
        // A listener's bug must not stop the others from hearing of the fault.
        this.log(`a fault listener threw: ${errorText(error)}`);
      }
    }
  }

  /** Runs a roslib callback's work; nothing may throw back into roslib (it would be lost there). */
  private safely(work: () => unknown): void {
    try {
      work();
    } catch (error) {
      this.fault(`internal error in the ROS link to ${this.url}: ${errorText(error)}`);
    }
  }

  private connectFailureReason(): string {
    const p = this.progress;
    if (!p.socketOpened) return `no socket (${p.lastSocketError ?? 'no answer'})`;
    if (p.statesSeen === 0) {
      const last = this.counters.lastRejection;
      return last ? `no usable state; last rejected: ${last}` : `no message on ${this.ros.stateTopic}`;
    }
    return 'the socket closed again';
  }

  private settleConnect(error?: Error): void {
    const pending = this.pendingConnect;
    this.pendingConnect = undefined;
    if (!pending) return;
    if (error) pending.reject(error);
    else pending.resolve();
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.giveUpTimer) clearTimeout(this.giveUpTimer);
    this.retryTimer = undefined;
    this.giveUpTimer = undefined;
  }

  private teardown(phase: 'lost' | 'closed'): void {
    this.phase = phase;
    this.stopWatch?.onLinkLost(
      phase === 'closed' ? 'the robot was closed' : `the link to ${this.url} was lost`,
    );
    if (this.lastSeen) this.lastSeen.linkLost = true;
    this.clearTimers();
    this.latest = undefined;
    if (this.session) this.disposeSession(this.session);
    this.session = undefined;
  }

  private disposeSession(s: Session): void {
    if (s.disposed) return;
    s.disposed = true;
    // Only tell the bridge while the socket is open: otherwise roslib would queue the ops.
    if (s.open && s.ros.isConnected) {
      for (const t of s.subscribed) t.unsubscribe();
      for (const t of s.advertised) t.unadvertise();
    }
    s.ros.close();
  }

  private waitForClose(s: Session): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!s.ros.isConnected) return resolve();
      const timer = setTimeout(resolve, 1000);
      s.ros.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
