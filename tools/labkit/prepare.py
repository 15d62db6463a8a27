# -*- coding: utf-8 -*-
"""Everything the demo, the tests and Molecule need, in one call.

Standard library only: the lab runs before its venv exists."""

from __future__ import annotations

import fcntl
import os
import threading

from .base import LAB
from .engine import ensure_docker, ensure_host_limits, ensure_image
from .mirror import ensure_mirror, ensure_mirror_files


def setup() -> None:
    """Everything the demo, the tests and Molecule need, reusing what exists.

    Serialised with a lock file: two commands started together (a user's two
    terminals, parallel test jobs) wait for one build instead of racing.

    The etcd archives (Go builds, CPU) are made on a thread of their own
    while the engine starts and debootstrap builds the image (mostly
    downloads): on a new machine the two no longer wait for each other. The
    mirror container then serves them from the image. An error of the
    engine or the image is raised at once (the builds go on, each written
    under a temporary name first); an error of the builds after the image
    is ready."""
    os.makedirs(LAB, exist_ok=True)
    with open(os.path.join(LAB, "setup.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        archives = _Background(ensure_mirror_files)
        ensure_host_limits()
        ensure_docker()
        ensure_image()
        archives.result()
        ensure_mirror()


class _Background:
    """Call ``func`` on a daemon thread; ``result()`` waits and re-raises."""

    def __init__(self, func):
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(func,), name="lab-archives", daemon=True)
        self._thread.start()

    def _run(self, func) -> None:
        try:
            func()
        except BaseException as exc:  # SystemExit names the failed step
            self._error = exc

    def result(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error
