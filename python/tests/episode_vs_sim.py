"""Run by test/python-client.e2e.test.ts with Debian's python3 alone (no numpy, no gymnasium):
one zero-action episode of a task through armprior_gym's client, printed as JSON, then the
crash path (the armprior process killed under it)."""

import json
import os
import signal
import sys

from armprior_gym import ArmpriorCrashed, ArmpriorError, ArmpriorProcess

task, seed = sys.argv[1], int(sys.argv[2])
process = ArmpriorProcess()
spec = process.request("make", task=task)
process.request("reset", seed=seed)
total, steps, success = 0.0, 0, False
while True:
    result = process.request("step", action=[0.0] * spec["action_size"])
    total += result["reward"]
    steps += 1
    success = result["info"]["is_success"]
    if result["terminated"] or result["truncated"]:
        break
try:
    process.request("step", action=[0.0])
    refused = None
except ArmpriorError as error:
    refused = str(error)
os.kill(process._proc.pid, signal.SIGKILL)
try:
    process.request("reset", seed=seed)
    crashed = None
except ArmpriorCrashed as error:
    crashed = str(error)
print(json.dumps({"steps": steps, "return": total, "success": success, "refused": refused, "crashed": crashed}))
