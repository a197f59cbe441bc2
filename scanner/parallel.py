"""Run two halves of a large scan at once: one here, one in a forked child.

A scan is CPU-bound Python, so threads do not help; a forked child does, and it starts
with a copy of everything already in memory (policies, parsed resources, relations)
at no cost. The child's result comes back pickled over a private pipe. Anything that
goes wrong in the child (an exception, an unpicklable result, a crash) makes this
process compute that half itself, so the result never depends on whether a fork was
used, and small scans never fork at all (the callers decide by size).
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

A = TypeVar("A")
B = TypeVar("B")


def can_fork() -> bool:
    """Linux, two or more usable CPUs, and no other thread (a fork copies only this one)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork") or threading.active_count() > 1:
        return False
    return len(os.sched_getaffinity(0)) >= 2


def in_two_processes(here: Callable[[], A], there: Callable[[], B]) -> tuple[A, B]:
    """(here(), there()), with there() computed in a forked child when possible."""
    if not can_fork():
        return here(), there()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, and leave without running any cleanup
        code = 1
        try:
            os.close(read_fd)
            result = there()
            with os.fdopen(write_fd, "wb") as out:
                pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        mine = here()
    finally:
        received: Any = _NOTHING
        try:
            with os.fdopen(read_fd, "rb") as pipe:
                received = pickle.load(pipe)  # noqa: S301 - our own child, over a private pipe
        except Exception:  # any failure of the child: its half is computed here instead
            received = _NOTHING
        _, status = os.waitpid(pid, 0)
    if received is _NOTHING or os.waitstatus_to_exitcode(status) != 0:
        FALLBACKS.append(f"child exited with {os.waitstatus_to_exitcode(status)}")
        return mine, there()
    theirs: B = received
    return mine, theirs


_NOTHING = object()
# Each time a child's half had to be recomputed here, why. The result is right either
# way, so nothing else would show it; the tests check that the scan paths never fall back
# (a result that cannot be pickled once made every large scan quietly single-process).
FALLBACKS: list[str] = []
