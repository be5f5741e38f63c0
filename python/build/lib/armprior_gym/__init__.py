"""armprior's tasks as Gymnasium environments: gymnasium.make("armprior/Push-v0").

The env runs in an `armprior env serve` process (ARMPRIOR_COMMAND, else `armprior` on the PATH).
The client (armprior_gym.client) needs numpy only; the envs need gymnasium.
"""

from .client import ArmpriorCrashed, ArmpriorError, ArmpriorProcess

TASKS = {
    "Reach": "reach",
    "Push": "push",
    "PickAndPlace": "pick-and-place",
    "Slide": "slide",
    "OpenDrawer": "open-drawer",
}

try:
    import gymnasium
except ImportError:  # the client alone, without gymnasium
    gymnasium = None

if gymnasium is not None:
    for _name, _task in TASKS.items():
        _id = f"armprior/{_name}-v0"
        if _id not in gymnasium.registry:
            gymnasium.register(id=_id, entry_point="armprior_gym.env:ArmpriorEnv", kwargs={"task": _task})

__all__ = ["ArmpriorCrashed", "ArmpriorError", "ArmpriorProcess", "TASKS"]
