"""The export writers, read back by the importers: every field, exactly."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from loom_cli.history.export import WRITERS, Fix, Segment
from tests.unit.history.conftest import imported

FIXES = [
    Fix(
        datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=UTC),
        52.520000123456789,
        -0.0000001,
        10.300000190734863,  # a float4 accuracy as TimescaleDB returns it
        -3.25,
        1.5,
        359.9,
        0.8100000023841858,
        "owntracks",
    ),
    Fix(datetime(2024, 5, 1, 8, 1, tzinfo=UTC), -89.9, 179.99999, *[None] * 6),
    Fix(
        datetime(2024, 5, 1, 8, 2, tzinfo=UTC),
        1.0,
        2.0,
        0.0,
        0.0,
        0.0,
        0.0,
        1.0,
        "a<&>",
    ),
]
STAY = Segment(
    "stay", FIXES[0].recorded_at, FIXES[1].recorded_at, 52.52, 13.4, "Café <1>", 2, 5.0
)
MOVE = Segment("move", FIXES[1].recorded_at, FIXES[2].recorded_at, 1, 2, None, 2, 9.0)
FIELDS = ("recorded_at", "latitude", "longitude", "accuracy_m", "altitude_m")
MORE = ("speed_mps", "bearing_deg", "battery_level")


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_what_is_exported_imports_back_field_by_field(write, fmt):
    out = io.StringIO()
    assert WRITERS[fmt](iter(FIXES), out, [STAY, MOVE]) == (
        3,
        {"gpx": 1, "geojson": 2, "csv": 0}[fmt],
    )
    found, fixes, problems = imported(write(f"export.{fmt}", out.getvalue()), None)
    assert found == fmt
    for original, back in zip(FIXES, fixes, strict=True):
        for name in FIELDS + MORE:
            assert getattr(back, name) == getattr(original, name), name
        assert back.source == (original.source or fmt)
    assert all("Loom derived from fixes, not a fix" in r for _, r in problems)
