import { RosRobot } from '../src/bridge/ros/ros-robot.js';
import { RosbridgeTestServer } from '../src/bridge/ros/rosbridge-test-server.js';
import type { TimingSummary } from '../src/control/loop-contract.js';
import { summarizeTimings } from '../src/control/timing-stats.js';
import { loadRobotConfig } from '../src/robot-config/robot-config.js';
import { RosInterfaceSchema } from '../src/robot-config/ros-config.js';

/**
 * Command-to-state round trip through rosbridge on loopback: RosRobot publishes a joint velocity
 * command (the real roslib client), the rosbridge v2 test server receives it and answers at once
 * with a joint state carrying that velocity, and the time until RosRobot holds that state is
 * measured. What it measures is the bridge path (JSON, WebSocket, roslib, the guards), not a
 * robot's state rate.
 */
export async function measureRosRoundTrip(commands: number): Promise<TimingSummary> {
  const panda = loadRobotConfig('panda');
  const home = [...panda.arm.homeQpos, 0.02, 0.02];
  const server = await RosbridgeTestServer.start({
    // The MJCF names, which RosRobot uses when `ros:` names no joints.
    jointNames: [...panda.arm.joints, ...(panda.gripper?.joints ?? [])],
    initialPositions: home,
    stateRateHz: 20,
    stateOnCommand: true,
  });
  // The built-in arm with a `ros:` section made here, in memory: no YAML file to write.
  const ros = RosInterfaceSchema.parse({
    url: server.url,
    command: { type: 'velocity', topic: '/joint_group_velocity_controller/commands' },
  });
  const robot = new RosRobot({ ...panda, ros }, { now: () => performance.now() });
  try {
    await robot.connect();
    const v = new Float64Array(7);
    const samples = new Float64Array(commands);
    for (let i = -50; i < commands; i++) {
      v[0] = 1e-3 * ((i % 100) + 1) * (i % 2 === 0 ? 1 : -1);
      const started = performance.now();
      if (!robot.act({ jointVelocities: v })) throw new Error('rosbridge bench: the command was not sent');
      while (robot.observe()?.jointVelocities[0] !== v[0]) {
        if (performance.now() - started > 5000)
          throw new Error('rosbridge bench: no state came back within 5 s');
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (i >= 0) samples[i] = performance.now() - started;
    }
    await robot.stop();
    return summarizeTimings(samples);
  } finally {
    await robot.close();
    await server.close();
  }
}
