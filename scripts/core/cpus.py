"""How many CPUs a step may spread its work over, in forked worker processes (load, analyze)."""
from __future__ import annotations

import os
import sys


def usable_cpus() -> int:
    """The CPUs this process may run on (taskset, a container's cpuset) where steps fork workers,
    which is Linux; elsewhere 1, so the step runs in one process: macOS's system libraries are not
    safe to use in a forked child."""
    if sys.platform != "linux":
        return 1
    return len(os.sched_getaffinity(0))
