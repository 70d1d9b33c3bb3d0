"""Contract event -> row of its raw hypertable, per family.

Each layout lists the columns a landing run writes (in COPY order, with their
PostgreSQL types for binary COPY) and how to read them off an event. The table
DDL lives in ``sql/migrations/0001_raw_hypertables.sql``; an integration test
checks the two agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from loom_core.contracts import CameraFrame, DeviceEvent

Row = tuple[Any, ...]

# Every raw table starts with these and ends with where the row came from.
HEAD = (
    ("time", "timestamptz"),
    ("device_id", "text"),
    ("event_id", "uuid"),
    ("received_at", "timestamptz"),
)
TAIL = (("kafka_partition", "int4"), ("kafka_offset", "int8"))


# The event attributes of the head columns.
HEAD_ATTRIBUTES = ("recorded_at", "device_id", "event_id", "received_at")


@dataclass(frozen=True)
class Layout:
    """The family-specific columns of a raw table and how to fill them.

    Parameters
    ----------
    fields
        ``(column, postgres_type)`` between the common head and tail columns.
    values
        Returns those columns' values for one event, in order; by default each
        column is the event's attribute of the same name.
    """

    fields: tuple[tuple[str, str], ...]
    values: Callable[[Any], Row] | None = None
    # Head and field values read in one C call (rows are built per message).
    _get: Callable[[Any], Row] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.values is None:
            names = [name for name, _ in self.fields]
            get = attrgetter(*HEAD_ATTRIBUTES, *names)
        else:
            head, values = attrgetter(*HEAD_ATTRIBUTES), self.values

            def get(event: Any) -> Row:
                return (*head(event), *values(event))

        object.__setattr__(self, "_get", get)

    @property
    def columns(self) -> list[str]:
        """Every column a landing run writes, in COPY order."""
        return [name for name, _ in (*HEAD, *self.fields, *TAIL)]

    @property
    def types(self) -> list[str]:
        """The PostgreSQL type of each of :attr:`columns`."""
        return [kind for _, kind in (*HEAD, *self.fields, *TAIL)]

    def row(self, event: DeviceEvent, partition: int, offset: int) -> Row:
        """Return the table row of ``event``, read at ``partition``/``offset``."""
        return (*self._get(event), partition, offset)


def _camera(e: CameraFrame) -> Row:
    first = e.images[0]
    mate = e.images[1] if len(e.images) > 1 else None
    return (
        e.pair_id,
        e.pairing,
        first.camera,
        first.content_type,
        first.data,
        mate.camera if mate else None,
        mate.content_type if mate else None,
        mate.data if mate else None,
    )


LAYOUTS: dict[str, Layout] = {
    "gps": Layout(
        (
            ("latitude", "float8"),
            ("longitude", "float8"),
            ("accuracy_m", "float4"),
            ("altitude_m", "float4"),
            ("speed_mps", "float4"),
            ("bearing_deg", "float4"),
            ("battery_level", "float4"),
            ("source", "text"),
        )
    ),
    "accelerometer": Layout((("x", "float8"), ("y", "float8"), ("z", "float8"))),
    "heartrate": Layout((("bpm", "int2"), ("confidence", "float4"))),
    "steps": Layout((("count", "int4"), ("interval_s", "float4"))),
    "power": Layout(
        (("battery_level", "float4"), ("charging", "bool"), ("source", "text"))
    ),
    "audio": Layout(
        (
            ("encoding", "text"),
            ("sample_rate", "int4"),
            ("channels", "int2"),
            ("stream_id", "text"),
            ("sequence", "int4"),
            ("duration_s", "float4"),
            ("pcm", "bytea"),
        ),
        lambda e: (
            e.encoding,
            e.sample_rate,
            e.channels,
            e.stream_id,
            e.sequence,
            e.duration_s,
            e.data,
        ),
    ),
    "camera": Layout(
        (
            ("pair_id", "text"),
            ("pairing", "text"),
            ("camera", "text"),
            ("content_type", "text"),
            ("image", "bytea"),
            ("mate_camera", "text"),
            ("mate_content_type", "text"),
            ("mate_image", "bytea"),
        ),
        _camera,
    ),
    "screenshot": Layout(
        (
            ("content_type", "text"),
            ("image", "bytea"),
            ("app", "text"),
            ("window_title", "text"),
        ),
        lambda e: (e.content_type, e.data, e.app, e.window_title),
    ),
}
