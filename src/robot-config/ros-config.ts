import { z } from 'zod';

const topicName = z.string().regex(/^\/?[A-Za-z~][\w/~]*$/, 'must be a ROS topic name like /joint_states');

/**
 * `ros:` in `config/robots/<name>.yaml`: how the robot is reached through rosbridge v2. The
 * rest of the file (MJCF, joints, limits) makes the kinematic model, so end-effector actions
 * become joint commands by the same IK as in simulation.
 */
export const RosInterfaceSchema = z
  .object({
    /** rosbridge WebSocket URL. */
    url: z.string().regex(/^wss?:\/\/.+/, 'must be a ws:// or wss:// URL'),
    /**
     * ROS generation behind the bridge: picks the message type names (`sensor_msgs/msg/JointState`
     * on ROS 2, `sensor_msgs/JointState` on ROS 1) and the time fields (`sec`/`nanosec` or `secs`/`nsecs`).
     */
    rosVersion: z.union([z.literal(1), z.literal(2)]).default(2),
    /** Names of the arm joints on the robot, in `arm.joints` order (default: the MJCF names). */
    jointNames: z.array(z.string().min(1)).optional(),
    /** Names of the finger joints on the robot, in `gripper.joints` order (default: the MJCF names). */
    gripperJointNames: z.array(z.string().min(1)).optional(),
    /** `sensor_msgs/JointState` topic carrying (at least) the arm joints. */
    stateTopic: topicName.default('/joint_states'),
    command: z.discriminatedUnion('type', [
      z
        .object({
          /** Joint velocities as `std_msgs/Float64MultiArray` (a ros_control velocity group). */
          type: z.literal('velocity'),
          topic: topicName,
        })
        .strict(),
      z
        .object({
          /** One-point `trajectory_msgs/JointTrajectory` reaching position + velocity × horizon. */
          type: z.literal('trajectory'),
          topic: topicName,
          /** time_from_start of the single point (s). */
          horizonSec: z.number().positive().default(0.1),
        })
        .strict(),
    ]),
    /** `std_msgs/Float64MultiArray` topic taking the finger position targets (gripper tasks). */
    gripperCommandTopic: topicName.optional(),
    /** `geometry_msgs/PoseStamped` topic with the object's pose in the task frame. */
    objectPoseTopic: topicName.optional(),
    /** `geometry_msgs/PoseStamped` topic with the goal position in the task frame. */
    goalPoseTopic: topicName.optional(),
    /** `std_msgs/Bool` topic: `true` is an emergency stop (the run ends with a safe stop). */
    estopTopic: topicName.optional(),
    reconnect: z
      .object({
        /** First wait after the socket closed (ms); doubled after every failed attempt. */
        initialDelayMs: z.number().int().positive().default(250),
        /** Longest wait between attempts (ms). */
        maxDelayMs: z.number().int().positive().default(5000),
        /** Time to connect at start, and to come back after a loss, before giving up (ms). */
        timeoutMs: z.number().int().positive().default(30_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type RosInterfaceConfig = z.output<typeof RosInterfaceSchema>;
