import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * A rosbridge v2 protocol server (JSON over WebSocket) with a simulated arm behind it, for tests
 * that drive the REAL roslib client: the ops roslib uses (advertise, unadvertise, publish,
 * subscribe, unsubscribe, call_service for rosapi: topics, topic_type, subscribers), a joint-state
 * publisher integrating the commands it receives, a record of every command, and switches for
 * the faults a real bridge has (killed, restarted on the same port, slow, silent, garbage on the
 * wire, an arm that jumps while unobserved).
 *
 * Like rosbridge, it speaks one ROS generation: on ROS 1 a subscribe or advertise with a ROS 2
 * type name (`pkg/msg/Type`) is refused with an error status (real rosbridge cannot load that
 * message class, so the topic stays silent); on ROS 2 both spellings are accepted and rosapi
 * lists the `pkg/msg/Type` one. The simulated arm's controller subscribes to the velocity and
 * trajectory topics (and `controllerTopics`), as `/rosapi/subscribers` says: a command sent
 * anywhere else moves nothing.
 *
 * Listens on 127.0.0.1 only; port 0 picks a free port. No ROS is needed.
 *
 * It lives in src, not test/support, because `armprior bench loop` runs it from the build to
 * measure the round trip through rosbridge (bench/ros-round-trip.ts; issue #18).
 */

export interface RosbridgeServerOptions {
  /** 0 = a free port. */
  readonly port?: number;
  /** Joint names the simulated arm publishes (order of `sensor_msgs/JointState.name`). */
  readonly jointNames?: readonly string[];
  /** Initial joint positions (default zeros). */
  readonly initialPositions?: readonly number[];
  /** Joint-state rate (Hz). */
  readonly stateRateHz?: number;
  readonly stateTopic?: string;
  /** Topic taking `std_msgs/Float64MultiArray` joint velocities. */
  readonly velocityTopic?: string;
  /** Topic taking `trajectory_msgs/JointTrajectory`. */
  readonly trajectoryTopic?: string;
  /** Type names in ROS 2 (`pkg/msg/Type`) or ROS 1 (`pkg/Type`) spelling. */
  readonly rosVersion?: 1 | 2;
  /** Extra topics rosapi lists (name → type), e.g. a controller's command topic with no publisher. */
  readonly extraTopics?: Readonly<Record<string, string>>;
  /** Publish a joint state as soon as a command arrives (the round-trip benchmark), besides the timer. */
  readonly stateOnCommand?: boolean;
  /** More topics the simulated controller subscribes to (a gripper relay…), for `/rosapi/subscribers`. */
  readonly controllerTopics?: readonly string[];
}

/** One command the arm received. */
export interface ReceivedCommand {
  readonly topic: string;
  readonly msg: unknown;
  /** performance.now() when it arrived (ms). */
  readonly receivedAtMs: number;
  /** How many times the server had been (re)started when it arrived: 1 = first start. */
  readonly generation: number;
}

interface Client {
  readonly socket: WebSocket;
  readonly subscriptions: Set<string>;
}

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const finiteNumbers = (v: unknown): number[] | undefined =>
  Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x))
    ? (v as number[])
    : undefined;

export class RosbridgeTestServer {
  /** The node `/rosapi/subscribers` names for the simulated arm's controller. */
  static readonly CONTROLLER_NODE = '/simulated_arm_controller';
  /** The node it names for a topic a WebSocket client subscribed to (rosbridge subscribes for it). */
  static readonly BRIDGE_NODE = '/rosbridge_websocket';
  /** Every command received, in order of arrival, across restarts. */
  readonly commands: ReceivedCommand[] = [];
  /** Every message clients published, on any topic (gripper targets, poses…), in order. */
  readonly published: ReceivedCommand[] = [];
  /** Every op received from clients (for protocol assertions). */
  readonly received: Json[] = [];
  /** Joint-state messages sent. */
  statesSent = 0;
  /** Joint-state messages written to client sockets (one per subscribed client per state). */
  statesDelivered = 0;

  private wss: WebSocketServer | undefined;
  private readonly clients = new Set<Client>();
  private readonly opts: Required<
    Omit<RosbridgeServerOptions, 'initialPositions' | 'extraTopics' | 'controllerTopics'>
  >;
  /** Topics the simulated arm's controller subscribes to. */
  private readonly controllerTopics: Set<string>;
  private readonly extraTopics: Record<string, string>;
  /** Topic → type, from clients' advertisements and the server's own publishers. */
  private readonly advertised = new Map<string, string>();
  private jointNames: string[];
  private positions: number[];
  private velocities: number[];
  private stateTimer: NodeJS.Timeout | undefined;
  private readonly delayed = new Set<NodeJS.Timeout>();
  private stateDelayMs = 0;
  private paused = false;
  private commandsIgnored = false;
  private rosapiUp = true;
  private lastTickMs = 0;
  private generation = 0;
  private portInUse = 0;

  private constructor(options: RosbridgeServerOptions) {
    const rosVersion = options.rosVersion ?? 2;
    this.opts = {
      port: options.port ?? 0,
      jointNames: options.jointNames ?? ['joint1', 'joint2', 'joint3'],
      stateRateHz: options.stateRateHz ?? 100,
      stateTopic: options.stateTopic ?? '/joint_states',
      velocityTopic: options.velocityTopic ?? '/joint_group_velocity_controller/commands',
      trajectoryTopic: options.trajectoryTopic ?? '/joint_trajectory_controller/joint_trajectory',
      rosVersion,
      stateOnCommand: options.stateOnCommand ?? false,
    };
    this.extraTopics = { ...(options.extraTopics ?? {}) };
    this.controllerTopics = new Set([
      this.opts.velocityTopic,
      this.opts.trajectoryTopic,
      ...(options.controllerTopics ?? []),
    ]);
    this.jointNames = [...this.opts.jointNames];
    this.positions = this.jointNames.map((_, i) => options.initialPositions?.[i] ?? 0);
    this.velocities = this.jointNames.map(() => 0);
  }

  /** Starts a server; resolves once it listens. */
  static async start(options: RosbridgeServerOptions = {}): Promise<RosbridgeTestServer> {
    const server = new RosbridgeTestServer(options);
    await server.listen(server.opts.port);
    return server;
  }

  /** The port it listens on (kept across restart). */
  get port(): number {
    return this.portInUse;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.portInUse}`;
  }

  /** Message type name in the server's ROS spelling. */
  type(pkg: string, name: string): string {
    return this.opts.rosVersion === 2 ? `${pkg}/msg/${name}` : `${pkg}/${name}`;
  }

  /** Connected clients. */
  clientCount(): number {
    return this.clients.size;
  }

  /** Clients subscribed to a topic. */
  subscriberCount(topic: string): number {
    let n = 0;
    for (const c of this.clients) if (c.subscriptions.has(topic)) n++;
    return n;
  }

  /** Current simulated joint positions, in the published name order. */
  jointPositions(): number[] {
    return [...this.positions];
  }

  /**
   * Puts the arm somewhere else at once and at rest, as a reset or a person moving it would
   * (joints in the published name order; missing ones keep their position).
   */
  setJointPositions(positions: readonly number[]): void {
    this.positions = this.positions.map((q, i) => positions[i] ?? q);
    this.velocities = this.velocities.map(() => 0);
  }

  // -- fault controls -------------------------------------------------------------------------

  /** Drops every connection at once (no close handshake) and stops listening. */
  async kill(): Promise<void> {
    this.stopStateTimer();
    for (const c of this.clients) c.socket.terminate();
    this.clients.clear();
    await this.closeServer();
  }

  /** Listens again on the same port, with the arm where it was. */
  async restart(): Promise<void> {
    await this.listen(this.portInUse);
  }

  /** Delays every joint-state message by `ms` (stamped when measured, sent later). */
  setStateDelayMs(ms: number): void {
    this.stateDelayMs = ms;
  }

  /** Stops publishing joint states (the arm goes on moving); rosbridge stays up. */
  pauseState(): void {
    this.paused = true;
  }

  resumeState(): void {
    this.paused = false;
  }

  /**
   * The controller stops obeying: commands are still recorded, but the arm keeps the velocity it
   * has (a controller that hung, or one in another mode).
   */
  ignoreCommands(): void {
    this.commandsIgnored = true;
  }

  /** rosapi is not running: its services answer as rosbridge does for a missing service. */
  disableRosapi(): void {
    this.rosapiUp = false;
  }

  /** Sends raw text to every client (malformed JSON, wrong shapes). */
  sendRaw(text: string): void {
    for (const c of this.clients) c.socket.send(text);
  }

  /** Renames the published joints (the arm keeps its positions). */
  setJointNames(names: readonly string[]): void {
    this.jointNames = [...names];
    const n = names.length;
    this.positions = Array.from({ length: n }, (_, i) => this.positions[i] ?? 0);
    this.velocities = Array.from({ length: n }, (_, i) => this.velocities[i] ?? 0);
  }

  /** Publishes a message to the topic's subscribers (and lists the topic in rosapi). */
  publish(topic: string, type: string, msg: unknown): void {
    this.advertised.set(topic, type);
    this.deliver(topic, msg);
  }

  /** Stops everything; the server cannot be restarted afterwards. */
  async close(): Promise<void> {
    for (const t of this.delayed) clearTimeout(t);
    this.delayed.clear();
    await this.kill();
  }

  // -- internals ------------------------------------------------------------------------------

  private async listen(port: number): Promise<void> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    this.wss = wss;
    this.generation++;
    this.portInUse = (wss.address() as AddressInfo).port;
    this.advertised.set(this.opts.stateTopic, this.type('sensor_msgs', 'JointState'));
    wss.on('connection', (socket) => this.accept(socket));
    this.lastTickMs = performance.now();
    this.stateTimer = setInterval(() => this.tick(), 1000 / this.opts.stateRateHz);
  }

  private async closeServer(): Promise<void> {
    const wss = this.wss;
    this.wss = undefined;
    if (!wss) return;
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  private stopStateTimer(): void {
    if (this.stateTimer) clearInterval(this.stateTimer);
    this.stateTimer = undefined;
  }

  private accept(socket: WebSocket): void {
    const client: Client = { socket, subscriptions: new Set() };
    this.clients.add(client);
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', () => this.clients.delete(client));
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.status(client, 'error', 'binary frames are not supported by this test server');
        return;
      }
      let op: unknown;
      try {
        op = JSON.parse(String(data));
      } catch {
        this.status(client, 'error', 'message is not JSON');
        return;
      }
      this.handle(client, op);
    });
  }

  private send(client: Client, msg: Json): void {
    if (client.socket.readyState === client.socket.OPEN) client.socket.send(JSON.stringify(msg));
  }

  private status(client: Client, level: 'error' | 'warning', msg: string, id?: unknown): void {
    this.send(client, { op: 'status', level, msg, ...(typeof id === 'string' ? { id } : {}) });
  }

  private handle(client: Client, op: unknown): void {
    if (!isRecord(op) || typeof op.op !== 'string') {
      this.status(client, 'error', 'message has no op');
      return;
    }
    this.received.push(op);
    const topic = typeof op.topic === 'string' ? op.topic : undefined;
    switch (op.op) {
      case 'advertise':
        if (!topic || typeof op.type !== 'string') {
          this.status(client, 'error', 'advertise needs topic and type', op.id);
          return;
        }
        if (!this.knownType(client, op.type, op.id)) return;
        this.advertised.set(topic, this.spelled(op.type));
        return;
      case 'unadvertise':
        return;
      case 'subscribe':
        if (!topic) {
          this.status(client, 'error', 'subscribe needs a topic', op.id);
          return;
        }
        if (typeof op.type === 'string' && !this.knownType(client, op.type, op.id)) return;
        client.subscriptions.add(topic);
        return;
      case 'unsubscribe':
        if (topic) client.subscriptions.delete(topic);
        return;
      case 'publish':
        if (!topic) {
          this.status(client, 'error', 'publish needs a topic', op.id);
          return;
        }
        this.onPublish(topic, op.msg);
        return;
      case 'call_service':
        this.callService(client, op);
        return;
      default:
        this.status(client, 'error', `unknown op '${op.op}'`, op.id);
        return;
    }
  }

  /**
   * Whether this bridge can load the message type: ROS 1's cannot load a ROS 2 name (an error
   * status, as rosbridge sends when it fails to import the class).
   */
  private knownType(client: Client, type: string, id: unknown): boolean {
    if (this.opts.rosVersion === 1 && type.includes('/msg/')) {
      this.status(
        client,
        'error',
        `Unable to load the manifest for package ${type.split('/')[0]}: ${type}`,
        id,
      );
      return false;
    }
    return true;
  }

  /** A type name in this bridge's own spelling (ROS 2 lists `pkg/msg/Type`). */
  private spelled(type: string): string {
    if (this.opts.rosVersion === 1 || type.includes('/msg/')) return type;
    const [pkg, name] = type.split('/');
    return pkg && name ? `${pkg}/msg/${name}` : type;
  }

  private callService(client: Client, op: Json): void {
    const service = typeof op.service === 'string' ? op.service.replace(/^\/?/, '/') : '';
    const reply = (result: boolean, values: unknown) =>
      this.send(client, { op: 'service_response', id: op.id, service: op.service, result, values });
    const topics = { ...this.extraTopics, ...Object.fromEntries(this.advertised) };
    if (!this.rosapiUp) {
      reply(false, `Service ${service} does not exist`);
      return;
    }
    if (service === '/rosapi/topics') {
      reply(true, { topics: Object.keys(topics), types: Object.values(topics) });
      return;
    }
    if (service === '/rosapi/subscribers') {
      const args = isRecord(op.args) ? op.args : {};
      const topic = typeof args.topic === 'string' ? args.topic : '';
      const nodes: string[] = [];
      if (this.controllerTopics.has(topic)) nodes.push(RosbridgeTestServer.CONTROLLER_NODE);
      if (this.subscriberCount(topic) > 0) nodes.push(RosbridgeTestServer.BRIDGE_NODE);
      reply(true, { subscribers: nodes });
      return;
    }
    if (service === '/rosapi/topic_type') {
      const args = isRecord(op.args) ? op.args : {};
      const t = typeof args.topic === 'string' ? topics[args.topic] : undefined;
      reply(true, { type: t ?? '' });
      return;
    }
    reply(false, `service ${service} is not offered by this test server`);
  }

  private onPublish(topic: string, msg: unknown): void {
    const record = { topic, msg, receivedAtMs: performance.now(), generation: this.generation };
    this.published.push(record);
    if (topic === this.opts.velocityTopic || topic === this.opts.trajectoryTopic) {
      this.commands.push(record);
      if (this.commandsIgnored) {
        // recorded, not applied
      } else if (topic === this.opts.velocityTopic) this.applyVelocity(msg);
      else this.applyTrajectory(msg);
      if (this.opts.stateOnCommand) this.tick();
    }
    this.deliver(topic, msg);
  }

  private applyVelocity(msg: unknown): void {
    const data = isRecord(msg) ? finiteNumbers(msg.data) : undefined;
    // A velocity group controller drives the first joints (the arm), not the fingers after them.
    if (data && data.length <= this.velocities.length) {
      for (let i = 0; i < data.length; i++) this.velocities[i] = data[i]!;
    }
  }

  /** Moves toward the single point's positions with its velocities (by joint name). */
  private applyTrajectory(msg: unknown): void {
    if (!isRecord(msg) || !Array.isArray(msg.joint_names) || !Array.isArray(msg.points)) return;
    const point: unknown = msg.points[0];
    if (!isRecord(point)) return;
    const v = finiteNumbers(point.velocities);
    if (!v) return;
    msg.joint_names.forEach((name, k) => {
      const i = this.jointNames.indexOf(String(name));
      if (i >= 0 && v[k] !== undefined) this.velocities[i] = v[k];
    });
  }

  private tick(): void {
    const now = performance.now();
    const dtSec = (now - this.lastTickMs) / 1000;
    this.lastTickMs = now;
    for (let i = 0; i < this.positions.length; i++) this.positions[i]! += this.velocities[i]! * dtSec;
    if (this.paused) return;
    const wallSec = Date.now() / 1000;
    const sec = Math.floor(wallSec);
    const stamp =
      this.opts.rosVersion === 2
        ? { sec, nanosec: Math.round((wallSec - sec) * 1e9) }
        : { secs: sec, nsecs: Math.round((wallSec - sec) * 1e9) };
    const msg = {
      header: { stamp, frame_id: '' },
      name: [...this.jointNames],
      position: [...this.positions],
      velocity: [...this.velocities],
      effort: [],
    };
    this.statesSent++;
    if (this.stateDelayMs <= 0) {
      this.deliver(this.opts.stateTopic, msg);
      return;
    }
    const t = setTimeout(() => {
      this.delayed.delete(t);
      this.deliver(this.opts.stateTopic, msg);
    }, this.stateDelayMs);
    this.delayed.add(t);
  }

  private deliver(topic: string, msg: unknown): void {
    const text = JSON.stringify({ op: 'publish', topic, msg });
    for (const c of this.clients) {
      if (c.subscriptions.has(topic) && c.socket.readyState === c.socket.OPEN) {
        c.socket.send(text);
        if (topic === this.opts.stateTopic) this.statesDelivered++;
      }
    }
  }
}
