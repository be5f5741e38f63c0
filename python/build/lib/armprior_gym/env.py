"""An armprior task as a goal-conditioned Gymnasium env (the Dict observation panda-gym uses)."""

import gymnasium
import numpy as np
from gymnasium import spaces

from .client import ArmpriorProcess


class ArmpriorEnv(gymnasium.Env):
    """Steps the real armprior env in its own Node process: the same seed gives the episode
    `armprior sim` gives. `compute_reward` is vectorised over any leading shape, for HER."""

    metadata = {"render_modes": []}

    def __init__(self, task, robot=None, reward_type=None, command=None):
        self._process = ArmpriorProcess(command)
        fields = {"task": task}
        if robot is not None:
            fields["robot"] = robot
        if reward_type is not None:
            fields["reward_type"] = reward_type
        self.spec_from_armprior = self._process.request("make", **fields)
        s = self.spec_from_armprior
        box = lambda n: spaces.Box(-np.inf, np.inf, shape=(n,), dtype=np.float64)  # noqa: E731
        self.observation_space = spaces.Dict(
            {
                "observation": box(s["observation_size"]),
                "achieved_goal": box(s["goal_size"]),
                "desired_goal": box(s["goal_size"]),
            }
        )
        self.action_space = spaces.Box(-1.0, 1.0, shape=(s["action_size"],), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        result = self._process.request("reset", **({} if seed is None else {"seed": int(seed)}))
        return self._observation(result), {"is_success": result["info"]["is_success"]}

    def step(self, action):
        action = np.asarray(action, dtype=np.float64).reshape(-1).tolist()
        result = self._process.request("step", action=action)
        info = result["info"]
        return (
            self._observation(result),
            float(result["reward"]),
            bool(result["terminated"]),
            bool(result["truncated"]),
            info,
        )

    def compute_reward(self, achieved_goal, desired_goal, info):
        achieved = np.asarray(achieved_goal, dtype=np.float64)
        desired = np.asarray(desired_goal, dtype=np.float64)
        shape = achieved.shape[:-1]
        goal_size = achieved.shape[-1]
        rewards = self._process.request(
            "compute_reward",
            achieved_goal=achieved.reshape(-1, goal_size).tolist(),
            desired_goal=desired.reshape(-1, goal_size).tolist(),
        )["reward"]
        return np.asarray(rewards, dtype=np.float64).reshape(shape)

    def close(self):
        self._process.close()

    @staticmethod
    def _observation(result):
        return {
            "observation": np.asarray(result["observation"], dtype=np.float64),
            "achieved_goal": np.asarray(result["achieved_goal"], dtype=np.float64),
            "desired_goal": np.asarray(result["desired_goal"], dtype=np.float64),
        }
