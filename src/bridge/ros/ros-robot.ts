import { Ros, Topic } from 'roslib';
import type { RobotConfig } from '../../../sim/robot-config.js';
import {
  type JointCommand,
  type Robot,
  RobotError,
  type RobotLink,
  type RobotSpec,
  type RobotState,
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
  selectJoints,
} from './messages.js';
import type { RosInterfaceConfig } from './ros-config.js';

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
 * `onReconnect: stop`) is latched: act() sends nothing afterwards, stop() still does.
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

  private counters = {
    messagesReceived: 0,
    messagesRejected: 0,
    lastRejection: undefined as string | undefined,
    reconnects: 0,
    commandsSent: 0,
    commandsDropped: 0,
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
   * mode); the gripper is left as it is. With the link down nothing can be sent: it says so in the
   * log and resolves, since the robot's own controller (velocity timeout, hold) is what acts then.
   */
  async stop(): Promise<void> {
    const s = this.usableSession();
    const state = this.latest;
    if (!s || !state) {
      this.log(`stop: the link to ${this.url} is down; no stop command sent`);
      return;
    }
    this.publishArm(s, state, new Float64Array(this.armNames.length));
    this.counters.commandsSent++;
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
  }

  /** The first valid state on a new socket: the link is up. */
  private onBack(): void {
    this.clearTimers();
    this.retryDelayMs = this.ros.reconnect.initialDelayMs;
    const wasReconnect = this.phase === 'reconnecting';
    this.phase = 'connected';
    if (!wasReconnect) {
      this.log(`connected to ${this.url}`);
      this.settleConnect();
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
    const velocities = arm.value.velocities ?? this.differenced(reading.value, arm.value.positions);
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
    if (this.phase === 'connecting' || this.phase === 'reconnecting') this.onBack();
  }

  /** Velocities from two readings' header stamps when the driver leaves `velocity` empty; else 0. */
  private differenced(reading: JointStateReading, positions: Float64Array): Float64Array {
    const out = new Float64Array(positions.length);
    const prev = this.previous;
    const dt =
      prev?.stampSec !== undefined && reading.stampSec !== undefined ? reading.stampSec - prev.stampSec : 0;
    if (!prev || !(dt > 0 && dt <= 1)) return out;
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
