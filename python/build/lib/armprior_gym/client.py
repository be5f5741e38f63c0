"""The armprior process behind an env: `armprior env serve`, spoken to over its stdin and stdout.

One JSON object per line each way (the protocol: src/env-server/env-protocol.ts in armprior).
Needs numpy only, not gymnasium. The command comes from ARMPRIOR_COMMAND (for example
"node /path/to/armprior/bin/armprior.js"), else `armprior` on the PATH.
"""

import atexit
import collections
import json
import os
import shlex
import subprocess
import threading

PROTOCOL_VERSION = 1


class ArmpriorError(RuntimeError):
    """The armprior process refused a request (bad action, unknown task…): its code and message."""

    def __init__(self, code, message):
        super().__init__(f"{message} ({code})")
        self.code = code


class ArmpriorCrashed(RuntimeError):
    """The armprior process ended or could not be started; the message holds what it printed last."""


def armprior_command():
    return shlex.split(os.environ.get("ARMPRIOR_COMMAND", "armprior"))


class ArmpriorProcess:
    """A running `armprior env serve`, closed by close(), and at interpreter exit at the latest."""

    def __init__(self, command=None):
        argv = (command or armprior_command()) + ["env", "serve"]
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
        except OSError as error:
            raise ArmpriorCrashed(
                f"cannot start {' '.join(argv)}: {error} (set ARMPRIOR_COMMAND, e.g. \"node /path/to/armprior/bin/armprior.js\")"
            ) from error
        # Its stderr is drained on a thread (a full pipe would stall it); the tail explains a crash.
        self._stderr = collections.deque(maxlen=20)
        threading.Thread(target=self._drain, daemon=True).start()
        self._next_id = 0
        self._closed = False
        atexit.register(self.close)
        result = self.request("hello", protocol=PROTOCOL_VERSION)
        self.armprior_version = result["armprior"]

    def _drain(self):
        for line in self._proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    def request(self, op, **fields):
        if self._closed:
            raise ArmpriorCrashed("the armprior process was closed")
        self._next_id += 1
        line = json.dumps({"id": self._next_id, "op": op, **fields})
        try:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
            answer = self._proc.stdout.readline()
        except (BrokenPipeError, OSError):
            answer = ""
        if not answer:
            self._closed = True
            code = self._proc.wait(timeout=5)
            said = " | ".join(self._stderr) or "nothing"
            raise ArmpriorCrashed(f"the armprior process ended (exit code {code}) during '{op}'; it said: {said}")
        reply = json.loads(answer)
        if not reply["ok"]:
            raise ArmpriorError(reply["error"]["code"], reply["error"]["message"])
        return reply["result"]

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self._proc.stdin.write(json.dumps({"id": self._next_id + 1, "op": "close"}) + "\n")
            self._proc.stdin.flush()
            self._proc.wait(timeout=5)
        except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
