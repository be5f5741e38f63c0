import { type Ros, Service } from 'roslib';
import { errorText, type RosVersion } from './messages.js';

/**
 * What rosapi (the node beside rosbridge) tells about the ROS graph: the topics with their types,
 * and who subscribes to a topic. `robot check` reports from it, and a run asks it before it
 * commands anything (issue #17): a ROS generation other than the config's, or a command topic
 * nobody listens to, is found at once instead of after a 30 s timeout or a run that moves nothing.
 *
 * Every call resolves (never rejects) with the answer or the reason there is none: rosapi is
 * optional, and callers decide what its absence means.
 */

/** A topic rosapi lists. */
export interface ListedTopic {
  readonly name: string;
  readonly type: string;
}

export type RosapiAnswer<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly why: string };

/** Calls `run`, which answers through `ok`/`fail`, with a timeout. */
function withTimeout<T>(
  timeoutMs: number,
  run: (ok: (value: T) => void, fail: (why: string) => void) => void,
): Promise<RosapiAnswer<T>> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (answer: RosapiAnswer<T>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const timer = setTimeout(
      () => settle({ ok: false, why: `no answer within ${timeoutMs / 1000} s` }),
      timeoutMs,
    );
    run(
      (value) => settle({ ok: true, value }),
      (why) => settle({ ok: false, why }),
    );
  });
}

/** rosapi's topic list (`/rosapi/topics`), or the reason it is not available. */
export function listTopics(ros: Ros, timeoutMs: number): Promise<RosapiAnswer<ListedTopic[]>> {
  return withTimeout(timeoutMs, (ok, fail) =>
    ros.getTopics(
      (result) => {
        const names: unknown = result?.topics;
        const types: unknown = result?.types;
        if (!Array.isArray(names) || !Array.isArray(types)) {
          fail('the answer has no topics/types lists');
          return;
        }
        ok(names.map((n, i) => ({ name: String(n), type: String(types[i] ?? '') })));
      },
      (error) => fail(errorText(error)),
    ),
  );
}

/** The nodes subscribed to `topic` (`/rosapi/subscribers`), or the reason rosapi did not say. */
export function listSubscribers(ros: Ros, topic: string, timeoutMs: number): Promise<RosapiAnswer<string[]>> {
  const service = new Service<{ topic: string }, { subscribers?: unknown }>({
    ros,
    name: '/rosapi/subscribers',
    serviceType: 'rosapi/Subscribers',
  });
  return withTimeout(timeoutMs, (ok, fail) =>
    service.callService(
      { topic },
      (result) => {
        const subscribers = result?.subscribers;
        if (!Array.isArray(subscribers)) {
          fail('the answer has no subscribers list');
          return;
        }
        ok(subscribers.map(String));
      },
      (error) => fail(errorText(error)),
    ),
  );
}

/** The ROS generation a type name is spelled in: `pkg/msg/Type` is ROS 2, `pkg/Type` ROS 1. */
export function rosVersionOfType(type: string): RosVersion | undefined {
  const parts = type.split('/');
  if (parts.length === 3 && parts[1] === 'msg' && parts[0] && parts[2]) return 2;
  if (parts.length === 2 && parts[0] && parts[1]) return 1;
  return undefined;
}

/** Which ROS generation a bridge speaks, and the listed topic that shows it. */
export interface SpokenRosVersion {
  readonly version: RosVersion;
  /** A topic whose type is spelled that way (the state topic where listed). */
  readonly evidence: ListedTopic;
}

/**
 * The ROS generation rosapi's type names are spelled in. The state topic decides where it is
 * listed (the robot's driver publishes it, so its spelling is the graph's own); otherwise the
 * spelling most topics use. Undefined when nothing tells.
 */
export function spokenRosVersion(
  topics: readonly ListedTopic[],
  stateTopic: string,
): SpokenRosVersion | undefined {
  const state = topics.find((t) => t.name === stateTopic);
  const stateVersion = state ? rosVersionOfType(state.type) : undefined;
  if (state && stateVersion) return { version: stateVersion, evidence: state };
  const byVersion = { 1: [] as ListedTopic[], 2: [] as ListedTopic[] };
  for (const t of topics) {
    const v = rosVersionOfType(t.type);
    if (v) byVersion[v].push(t);
  }
  const version: RosVersion | undefined =
    byVersion[1].length > byVersion[2].length ? 1 : byVersion[2].length > byVersion[1].length ? 2 : undefined;
  return version === undefined ? undefined : { version, evidence: byVersion[version][0]! };
}

/** "rosbridge speaks ROS 1 (rosapi lists /joint_states as sensor_msgs/JointState)". */
export function describeSpokenVersion(spoken: SpokenRosVersion): string {
  return `rosbridge speaks ROS ${spoken.version} (rosapi lists ${spoken.evidence.name} as ${spoken.evidence.type})`;
}
