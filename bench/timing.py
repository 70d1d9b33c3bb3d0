"""Timing helpers shared by the benchmark scripts (run as ``python bench/<x>.py``)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def per_second(fn: Callable[[Any], Any], items: list[Any]) -> float:
    """Call ``fn`` on each item; return the items handled per second of wall time."""
    started = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - started)


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) process ``pid`` used so far; Linux."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree_cpu_s(pid: int) -> float:
    """CPU seconds process ``pid`` and its descendants now alive used so far; Linux."""
    children = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return process_cpu_s(pid) + sum(process_tree_cpu_s(c) for c in children)


def median_of(rounds: list[dict], name: str) -> dict:
    """The per-field median of measurement ``name`` over the rounds (numbers only)."""
    return {
        field: statistics.median(r[name][field] for r in rounds)
        for field, value in rounds[0][name].items()
        if isinstance(value, int | float)
    }
