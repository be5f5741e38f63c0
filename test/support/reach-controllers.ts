/** A reach controller that only moves in x and y: it stops short of goals above or below. */
export const FLAT_REACH = `export function act(obs, ctx) {
  const target = [obs.desiredGoal[0], obs.desiredGoal[1], obs.eePosition[2]];
  return towards(obs.eePosition, target, 10);
}`;

/** The fixed one: all three axes. */
export const FULL_REACH = `export function act(obs, ctx) {
  // Head straight for the goal point.
  return towards(obs.eePosition, obs.desiredGoal, 10);
}`;
