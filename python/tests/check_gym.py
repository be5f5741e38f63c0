"""With gymnasium installed: check_env on every task, the same seed giving the same episode, a
vector env, the crash path. Run by test/python-gym.e2e.test.ts; by hand:

    ARMPRIOR_COMMAND="node bin/armprior.js" PYTHONPATH=python python python/tests/check_gym.py
"""

import os
import signal

import gymnasium
import numpy as np
from gymnasium.utils.env_checker import check_env

import armprior_gym
from armprior_gym import ArmpriorCrashed

for name in armprior_gym.TASKS:
    env = gymnasium.make(f"armprior/{name}-v0")
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    r = env.unwrapped.compute_reward(np.stack([obs["achieved_goal"]] * 4), np.stack([obs["desired_goal"]] * 4), {})
    assert r.shape == (4,), r.shape
    env.close()
    print(f"check_env passed: armprior/{name}-v0")

env = gymnasium.make("armprior/Push-v0")
runs = []
for _ in range(2):
    obs, _ = env.reset(seed=11)
    steps = [obs["observation"]]
    for _ in range(10):
        obs, *_ = env.step(np.linspace(-0.5, 0.5, env.action_space.shape[0], dtype=np.float32))
        steps.append(obs["observation"])
    runs.append(np.stack(steps))
env.close()
assert np.array_equal(runs[0], runs[1]), "the same seed and actions gave different episodes"
print("same seed, same episode: ok")

vec = gymnasium.vector.AsyncVectorEnv([lambda: gymnasium.make("armprior/Reach-v0") for _ in range(2)])
obs, _ = vec.reset(seed=[1, 2])
for _ in range(5):
    obs, reward, terminated, truncated, info = vec.step(vec.action_space.sample())
assert obs["observation"].shape[0] == 2
vec.close()
print("AsyncVectorEnv with 2 envs: ok")

env = gymnasium.make("armprior/Push-v0")
env.reset(seed=0)
os.kill(env.unwrapped._process._proc.pid, signal.SIGKILL)
try:
    env.step(env.action_space.sample())
    raise SystemExit("a killed armprior process was not reported")
except ArmpriorCrashed as error:
    print(f"crash reported: {error}")
