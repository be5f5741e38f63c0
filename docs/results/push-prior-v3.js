// Push, closed loop: re-plan every step from where the cube and the goal are now.
const SAFE_Z = 0.08;     // m, travel height
const PUSH_Z = 0.02;     // m, cube centre height
const BEHIND = 0.06;     // m, contact point behind the cube centre along the push line
const ALIGN_TOL = 0.02;  // m, how close to the line behind the cube before descending
const DONE = 0.015;      // m, cube-to-goal distance at which we stop pushing

export function act(obs, ctx) {
  const ee = obs.eePosition;
  const cube = obs.objectPosition;
  const goal = obs.desiredGoal;
  const dx = goal[0] - cube[0];
  const dy = goal[1] - cube[1];
  const dist = Math.hypot(dx, dy);
  if (dist < DONE) {
    // At the goal: back off upwards without touching the cube.
    return [0, 0, clamp(10 * (SAFE_Z - ee[2]), -1, 1)];
  }
  const ux = dx / dist;
  const uy = dy / dist;
  const behind = [cube[0] - BEHIND * ux, cube[1] - BEHIND * uy];
  // Where the gripper is relative to the cube, along and across the push line.
  const rx = ee[0] - cube[0];
  const ry = ee[1] - cube[1];
  const along = rx * ux + ry * uy;
  const across = -rx * uy + ry * ux;
  const lowEnough = ee[2] < PUSH_Z + 0.015;
  const aligned = along < -0.03 && Math.abs(across) < ALIGN_TOL;
  if (!aligned) {
    // Not behind the cube: go there at a safe height (lift first when low and near the cube).
    const offXY = Math.hypot(ee[0] - behind[0], ee[1] - behind[1]);
    const z = offXY > 0.015 ? SAFE_Z : PUSH_Z;
    if (ee[2] < SAFE_Z - 0.02 && offXY > 0.015 && Math.hypot(rx, ry) < 0.08) {
      return [0, 0, 1];
    }
    return towards(ee, [behind[0], behind[1], z], 10);
  }
  if (!lowEnough) return towards(ee, [behind[0], behind[1], PUSH_Z], 10);
  // Push through the cube toward the goal, steering back onto the line, slowing near the goal
  // (v3: full speed until 0.17 m out; v2 pushed at 4·dist ≤ 0.8 and its episodes timed out).
  const speed = clamp(6 * dist, 0.3, 1);
  const correction = clamp(-8 * across, -0.4, 0.4);
  return [
    speed * ux + correction * -uy,
    speed * uy + correction * ux,
    clamp(10 * (PUSH_Z - ee[2]), -1, 1),
  ];
}
