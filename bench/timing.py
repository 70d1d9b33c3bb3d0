"""Timing helpers shared by the benchmark scripts (run as ``python bench/<x>.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def per_second(fn: Callable[[Any], Any], items: list[Any]) -> float:
    """Call ``fn`` on each item; return the items handled per second of wall time."""
    started = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - started)
