"""One bounded wait for every "until the cluster says so" loop in kprep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(Exception):
    """`poll_until` ran out of time; `last` is the probe's last (falsy) result."""

    def __init__(self, seconds: float, last: object) -> None:
        super().__init__(f"not done after {seconds:g}s")
        self.seconds = seconds
        self.last = last


def poll_until(
    probe: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.1,
    cancel: threading.Event | None = None,
) -> T:
    """Call `probe` until it returns something truthy, and return that.

    Raises `WaitTimeout` (carrying the last result) once `timeout` seconds have
    passed, or as soon as `cancel` is set. Exceptions from `probe` propagate.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() >= deadline or (cancel is not None and cancel.is_set()):
            raise WaitTimeout(timeout, result)
        time.sleep(interval)
