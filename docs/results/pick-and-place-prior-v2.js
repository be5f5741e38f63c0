// Pick-and-place, closed loop: decide every step from what is observed now (no memory), so a
// dropped cube is picked up again and the policy that imitates this sees the same inputs.
// Edited from the bundled phase machine (34%), which lifted before the grip was firm, steered
// the gripper (not the cube) to the goal and jerked the 1 kg cube out of the fingers.
const OPEN = 1;
const CLOSED = -1;
const CUBE = 0.04;        // m, cube edge
const HOVER = 0.05;       // m above the cube centre while lining up over it
const XY_TOL = 0.012;     // m, lined up over the cube
const Z_TOL = 0.008;      // m, fingertips level with the cube centre
const CARRY_GAIN = 4;     // action per metre of cube-to-goal error
const CARRY_SPEED = 0.6;  // of full speed
const FULL_SPEED = 1.25;  // m/s of the gripper at action 1
const ACCEL = 0.14;       // largest change of the carrying action per step

export function act(obs) {
  const ee = obs.eePosition;
  const cube = obs.objectPosition;
  const goal = obs.desiredGoal;
  const width = obs.gripperWidth;
  // The fingers close on the cube at its width across the gripper: the edge when square to it,
  // up to the diagonal when turned 45° (the cube turns when it is dragged).
  const yaw = obs.objectRotation[2];
  const firm = CUBE * (Math.abs(Math.cos(yaw)) + Math.abs(Math.sin(yaw))) + 0.004;
  const rx = cube[0] - ee[0];
  const ry = cube[1] - ee[1];
  const rz = cube[2] - ee[2];
  const offXY = Math.hypot(rx, ry);
  // Once lifted, the cube swings in the fingers: looser bounds, so the gripper does not let go.
  const lifted = cube[2] > CUBE / 2 + 0.01;
  const between = offXY < (lifted ? 0.04 : 0.03) && Math.abs(rz) < (lifted ? 0.05 : 0.03);
  if (between && width < firm) {
    // Holding it: move so that the cube (not the gripper) goes to the goal, a little above the
    // table while still far from it so that it is not dragged.
    const far = Math.hypot(goal[0] - cube[0], goal[1] - cube[1]);
    const error = [goal[0] - cube[0], goal[1] - cube[1], goal[2] + Math.min(0.03, far) - cube[2]];
    // Change speed gently: a velocity step turns the heavy cube in the fingers and it falls out.
    return [
      ...error.map((e, i) => {
        const now = obs.eeVelocity[i] / FULL_SPEED;
        return clamp(clamp(CARRY_GAIN * e, -CARRY_SPEED, CARRY_SPEED), now - ACCEL, now + ACCEL);
      }),
      CLOSED,
    ];
  }
  // Closing on it: stay still until the grip is firm.
  if (between && width < 0.07 && offXY < 0.02) return [0, 0, 0, CLOSED];
  if (offXY < XY_TOL && Math.abs(rz) < Z_TOL) return [0, 0, 0, CLOSED];
  // Not holding it: open, line up above the cube, then go straight down.
  const hover = cube[2] + HOVER;
  if (offXY > XY_TOL || width < 0.07) {
    const z = offXY > 0.02 || width < 0.07 ? Math.max(hover, ee[2]) : ee[2];
    return [...towards(ee, [cube[0], cube[1], Math.min(z, hover + 0.1)], 10), OPEN];
  }
  return [...towards(ee, cube, 10), OPEN];
}
