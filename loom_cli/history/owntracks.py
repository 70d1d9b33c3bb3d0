"""OwnTracks Recorder ``.rec`` files: ISO time, topic (or ``*``), JSON; tab-separated."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loom_cli.history import Candidate, HistoryFormatError, Problem, Records

SOURCE = "owntracks"
KMH = 1000 / 3600


def read(path: Path) -> Records:
    """Yield a candidate per ``location`` line; other message types are skipped."""
    with path.open(errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) != 3:
                if number == 1:
                    msg = f"{path.name}: line 1 is not '<time>\\t<topic>\\t<json>'; is this an OwnTracks .rec file?"
                    raise HistoryFormatError(msg)
                yield Problem(f"line {number}", "expected three tab-separated fields")
                continue
            try:
                message = json.loads(parts[2])
            except json.JSONDecodeError as exc:
                yield Problem(f"line {number}", f"payload is not JSON ({exc.msg})")
                continue
            if isinstance(message, Mapping) and message.get("_type") == "location":
                yield location(message, f"line {number}")


def location(message: Mapping[str, Any], where: str) -> Candidate | Problem:
    """Map one OwnTracks ``location`` message to contract fields (SI units).

    Shared by the ``.rec`` reader; ``tst`` is epoch seconds, ``vel`` km/h,
    ``batt`` percent.
    """
    missing = [key for key in ("lat", "lon", "tst") if key not in message]
    if missing:
        return Problem(where, f"location message lacks {', '.join(missing)}")
    try:
        recorded_at = datetime.fromtimestamp(float(message["tst"]), UTC)
    except (TypeError, ValueError, OverflowError):
        return Problem(where, f"tst {message['tst']!r} is not epoch seconds")
    fields = {
        "recorded_at": recorded_at,
        "latitude": message["lat"],
        "longitude": message["lon"],
        "accuracy_m": message.get("acc"),
        "altitude_m": message.get("alt"),
        "speed_mps": _times(message.get("vel"), KMH),
        "bearing_deg": message.get("cog"),
        "battery_level": _times(message.get("batt"), 0.01),
        "source": SOURCE,
    }
    return Candidate(where, {k: v for k, v in fields.items() if v is not None})


def _times(value: object, factor: float) -> float | object | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value * factor
    return value  # left for the contract to reject with the field's name
