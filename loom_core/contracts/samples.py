"""Generated contract events, for tests and benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loom_core.contracts.events import GpsFix


def gps_fixes(
    device_id: str,
    count: int,
    start: datetime | None = None,
    *,
    every: timedelta = timedelta(seconds=1),
    source: str = "owntracks",
) -> list[GpsFix]:
    """Return ``count`` fixes of ``device_id`` with every field set.

    Parameters
    ----------
    device_id
        The device of every fix.
    count
        How many: each has its own ``recorded_at`` (so its own event id), and
        coordinates that stay valid however many are asked for.
    start
        The first fix's time; an hour ago when omitted.
    every
        The time between two fixes.
    source
        The ``source`` field of every fix.
    """
    start = start or datetime.now(UTC) - timedelta(hours=1)
    return [
        GpsFix(
            device_id=device_id,
            recorded_at=start + i * every,
            latitude=48.0 + (i % 1000) * 1e-4,
            longitude=2.0 - (i % 700) * 1e-4,
            accuracy_m=3.5,
            altitude_m=35.25,
            speed_mps=1.5,
            bearing_deg=90.0,
            battery_level=0.5,
            source=source,
        )
        for i in range(count)
    ]
