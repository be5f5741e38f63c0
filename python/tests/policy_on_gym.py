"""With gymnasium and onnxruntime installed: an exported policy on the Gymnasium env, its task
taken from the policy's metadata; prints each episode's success, return and final distance to the goal as JSON, to compare
with `armprior eval <policy> -n N -s FIRST --json`. Run by test/python-gym.e2e.test.ts; by hand:

    ARMPRIOR_COMMAND="node bin/armprior.js" python python/tests/policy_on_gym.py policy.onnx 60 5000000
"""

import json, sys
import gymnasium, numpy as np, onnxruntime as ort
import armprior_gym  # noqa: F401

policy, n, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
session = ort.InferenceSession(policy)
task = session.get_modelmeta().custom_metadata_map["armprior.task"]
name = {v: k for k, v in armprior_gym.TASKS.items()}[task]
env = gymnasium.make(f"armprior/{name}-v0")
episodes = []
for k in range(n):
    obs, _ = env.reset(seed=first + k)
    total = 0.0
    while True:
        x = np.concatenate([obs["observation"], obs["desired_goal"]]).astype(np.float32)[None]
        action = session.run(["action"], {"input": x})[0][0]
        obs, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        if terminated or truncated:
            break
    distance = float(np.linalg.norm(obs["achieved_goal"] - obs["desired_goal"]))
    episodes.append({"success": bool(info["is_success"]), "return": total, "final_distance": distance})
env.close()
print(json.dumps(episodes))
