"""OwnTracks Recorder ``.rec`` files: ``<ISO time> <topic or *> <JSON message>``.

Columns are separated by a tab (current recorders) or by spaces (older ones).
Each ``location`` message is read by the ingest API's own OwnTracks mapper, so a
point posted live and imported later from the recorder's file lands once; other
message types (transitions, waypoints, last wills ...) are skipped with that
reason.
"""

from __future__ import annotations

import io
import json
import re
from typing import BinaryIO

from fastapi.exceptions import RequestValidationError

from ingest_api.compat import owntracks
from ingest_api.history import HistoryFormatError, Problem, Records, candidate
from ingest_api.history.overland import app_errors

SOURCE = owntracks.SOURCE
LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\S+)[ \t]+(\S*)[ \t]+(\{.*)$")


def is_rec(line: str) -> bool:
    """Whether ``line`` is a recorder line (for sniffing)."""
    return LINE.match(line.strip()) is not None


def read(stream: BinaryIO) -> Records:
    """Yield a candidate or problem per message line."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        match = LINE.match(line.strip())
        if match is None:
            if number == 1:
                msg = "line 1 is not '<time> <topic> <json>'; is this an OwnTracks .rec file?"
                raise HistoryFormatError(msg)
            yield Problem(where, "expected '<time> <topic> <json>'")
            continue
        try:
            message = json.loads(match.group(3))
        except json.JSONDecodeError as exc:
            yield Problem(where, f"the message is not JSON ({exc.msg})")
            continue
        kind = message.get("_type") if isinstance(message, dict) else None
        if kind != "location":
            yield Problem(where, f"a {kind or 'untyped'!s} message carries no fix")
            continue
        try:
            (point,) = owntracks.points(message)
        except RequestValidationError as exc:
            yield Problem(where, app_errors(exc))
            continue
        yield candidate(
            where, recorded_at=point.recorded_at, source=SOURCE, **point.fields
        )
