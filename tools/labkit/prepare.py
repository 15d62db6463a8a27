# -*- coding: utf-8 -*-
"""Everything the demo, the tests and Molecule need, in one call.

Standard library only: the lab runs before its venv exists."""

from __future__ import annotations

import fcntl
import os

from .base import LAB
from .engine import ensure_docker, ensure_host_limits, ensure_image
from .mirror import ensure_mirror


def setup() -> None:
    """Everything the demo, the tests and Molecule need, reusing what exists.

    Serialised with a lock file: two commands started together (a user's two
    terminals, parallel test jobs) wait for one build instead of racing."""
    os.makedirs(LAB, exist_ok=True)
    with open(os.path.join(LAB, "setup.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ensure_host_limits()
        ensure_docker()
        ensure_image()
        ensure_mirror()
