"""Helpers of the importer tests: run a file through sniffing, reading, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest_api.history import Problem
from ingest_api.history.load import events, inputs
from loom_core.contracts import GpsFix

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
LOCATION_HISTORY = FIXTURES / "location-history"


def imported(path: Path, fmt: str | None = None) -> tuple[str | None, list, list]:
    """Return the sniffed format, the fixes as rows, and the problems, of a file."""
    fixes, problems, formats = [], [], set()
    for item in inputs(path, fmt):
        formats.add(item.fmt)
        for event in events(item, "phone"):
            if isinstance(event, GpsFix):
                fixes.append(event)
            else:
                assert isinstance(event, Problem)
                problems.append((event.where, event.reason))
    (found,) = formats or {None}
    return found, fixes, problems


def rows(fixes: list[GpsFix]) -> list[tuple]:
    """``(UTC ISO time, latitude, longitude)`` of each fix, positions to 7 places."""
    return [
        (
            f.recorded_at.isoformat().replace("+00:00", "Z"),
            round(f.latitude, 7),
            round(f.longitude, 7),
        )
        for f in fixes
    ]


@pytest.fixture
def write(tmp_path: Path):
    """Write ``content`` (text or bytes) to a file named ``name``; return its path."""

    def put(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return put


def real(relative: str) -> Path:
    """A real export from another app, or skip when the shared fixtures are absent."""
    path = LOCATION_HISTORY / relative
    if not LOCATION_HISTORY.is_dir():
        pytest.skip(f"shared fixtures not found at {LOCATION_HISTORY}")
    return path
