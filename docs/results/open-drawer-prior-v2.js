// Open drawer, one round after watching the bundled prior (v1). Its replays showed two failures:
// - it pulled before the fingers had closed on the bar (a fixed 8-step wait): the bar slipped out
//   and the drawer stopped 3–7 cm open while the gripper went on alone;
// - it pulled at full speed to 3 cm past the goal and stopped dead: the drawer's momentum tore
//   the bar out of the grip at the stop, and the drawer rolled most of the way shut again.
// v2 pulls only once the fingers have stopped closing on the bar, speeds up and slows down
// gently, stops 1.5 cm past the goal, and grasps again if it loses the bar.

const OPEN = 1;
const CLOSED = -1;
const APPROACH_HEIGHT = 0.1;  // m above the handle centre
const AT_POINT_TOL = 0.01;    // m
const BAR_WIDTH = 0.016;      // m: closed on the bar the fingers stop about this far apart
const EMPTY_GRIP = 0.008;     // m: narrower than this, the fingers closed on nothing
const PULL_MARGIN = 0.015;    // m past the goal opening
const MAX_PULL_SPEED = 0.45;  // action units while pulling
const PULL_RAMP = 0.1;        // action units gained per step at the start of the pull

export function act(obs, ctx) {
  const m = ctx.memory;
  const ee = obs.eePosition;
  const handle = obs.handlePosition;
  const goalOpening = obs.desiredGoal[0];
  const width = obs.gripperWidth;

  if (m.phase === undefined) m.phase = 'approach';

  if (m.phase === 'approach') {
    const above = [handle[0], handle[1], handle[2] + APPROACH_HEIGHT];
    // Straight down once over the bar; no need to stop above it first.
    if (vec.distXY(ee, above) < AT_POINT_TOL) m.phase = 'descend';
    return [...towards(ee, above), OPEN];
  }

  if (m.phase === 'descend') {
    if (Math.abs(ee[2] - handle[2]) < AT_POINT_TOL && width > BAR_WIDTH * 2) {
      m.phase = 'close';
      m.closeStart = ctx.step;
      m.lastWidth = width;
    }
    return [...towards(ee, handle), OPEN];
  }

  if (m.phase === 'close') {
    // Closed on the bar when the fingers have stopped moving, with the bar between them (they
    // only start moving a step after the command, so the first steps never count).
    const settled = ctx.step - m.closeStart >= 3 && Math.abs(m.lastWidth - width) < 0.0005;
    m.lastWidth = width;
    if (settled && width > EMPTY_GRIP) {
      m.phase = 'pull';
      m.speed = 0;
      // The drawer slides along -x only: pull straight back from where the fingers hold the bar.
      m.pullToX = ee[0] - (goalOpening - obs.drawerOpening) - PULL_MARGIN;
    } else if (settled) {
      m.phase = 'approach'; // closed on nothing: open and try again
      return [0, 0, 1, OPEN];
    }
    return [0, 0, 0, CLOSED];
  }

  // 'pull': speed up gently, slow down on the way in (gain 6 on the distance left), then hold.
  if (width < EMPTY_GRIP) {
    m.phase = 'approach'; // the bar slipped out: open, go back to it, grasp again
    return [0, 0, 1, OPEN];
  }
  m.speed = Math.min(MAX_PULL_SPEED, m.speed + PULL_RAMP);
  const dx = clamp(6 * (m.pullToX - ee[0]), -m.speed, m.speed);
  const hold = towards(ee, [ee[0], handle[1], handle[2]]);
  return [dx, hold[1], hold[2], CLOSED];
}
