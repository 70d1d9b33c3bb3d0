"""The columnar fast path lands exactly what the pydantic path lands.

For every family with a fast path, hypothesis generates batches of messages -
valid ones as the ingress writes them, and mutations of them: edge and
out-of-range values, missing, extra, repeated and reordered fields, wrong JSON
types, times in other zones and forms, NaN, huge numbers, escapes, bytes that
are not JSON or not UTF-8, tombstones. Each batch is landed both ways:

- the pydantic path: every message decoded by its model (``decode``), a row or
  a dead letter;
- the engine's way: the fast path's rows, and the messages it leaves decoded
  by the same pydantic path.

Both must give the same rows (value by value, as the table stores them) and the
same dead letters with the same reasons.
"""

from __future__ import annotations

import json
import math
import typing
import uuid
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loom_core.contracts import FAMILIES, envelope
from loom_dagster.landing.columnar import FLOAT4_MAX, FastPath, fast_path
from loom_dagster.landing.decode import Poison, decode
from loom_dagster.landing.rows import LAYOUTS
from tests.unit.landing.fakes import FakeMessage

PARTITION = 3
FAST = [name for name, fam in FAMILIES.items() if fast_path(fam) is not None]
NOW = datetime.now(UTC)


def test_the_sensor_families_have_a_fast_path_and_media_do_not():
    assert FAST == ["gps", "accelerometer", "heartrate", "steps", "power"]


# --- values --------------------------------------------------------------------

HUGE = st.sampled_from([1e308, -1e308, 3.5e38, -3.5e38, 3.4e38, 1e39, 2**64, 10**30])
BAD_JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)


def _bounds(field) -> tuple[float | None, float | None, list[float]]:
    """The range a numeric field allows, and its edge values and just beyond."""
    low = high = None
    edges = []
    for item in _metadata(field):
        for name in ("ge", "gt", "le", "lt"):
            bound = getattr(item, name, None)
            if bound is None:
                continue
            edges += [bound, math.nextafter(bound, -math.inf)]
            edges += [math.nextafter(bound, math.inf)]
            if name in ("ge", "gt"):
                low = bound
            else:
                high = bound
    return low, high, edges


def _metadata(field):
    items = list(field.metadata)
    annotation = field.annotation
    for arg in typing.get_args(annotation):
        for extra in typing.get_args(arg)[1:]:
            items.extend(getattr(extra, "metadata", []))
    return items


def _base(annotation):
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType):
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _time_text(draw, recorded: bool) -> str:
    """A time, mostly valid, in the forms a producer may write."""
    if draw(st.integers(0, 7)) == 0:
        return draw(
            st.sampled_from(
                [
                    "0000-01-01T00:00:00Z",
                    "0001-01-01T00:00:00+01:00",
                    "9999-12-31T23:59:59-01:00",
                    "9999-12-31T23:59:59Z",
                    "2026-02-30T00:00:00Z",
                    "2026-01-01T24:00:00Z",
                    "2026-01-01T23:59:60Z",
                    "2026-01-01T00:00:00",
                    "2026-01-01 00:00:00Z",
                    "2026-01-01t00:00:00z",
                    "2026-01-01T00:00:00.1234567Z",
                    "2026-01-01T00:00:00+24:00",
                    "2026-01-01T00:00:00-00:00",
                    "2026-01-01T00:00:00+0200",
                    "1700000000",
                    "",
                ]
            )
        )
    if recorded and draw(st.integers(0, 4)) == 0:
        # Around the clock-skew limit: now + 1 day.
        delta = draw(st.integers(-3600, 3600))
        moment = NOW + envelope.MAX_CLOCK_SKEW + timedelta(seconds=delta)
    else:
        moment = draw(
            st.datetimes(
                min_value=datetime(1, 1, 2),  # noqa: DTZ001
                max_value=datetime(9999, 12, 30),  # noqa: DTZ001
            )
        ).replace(tzinfo=UTC)
        moment = min(moment, NOW)
    offset = draw(st.sampled_from([0, 0, 0, 60, -300, 120, 330, -720, 840]))
    zone = timezone(timedelta(minutes=offset))
    local = moment.astimezone(zone)
    digits = draw(st.sampled_from(["seconds", "milliseconds", "microseconds"]))
    text = local.isoformat(timespec=digits)
    if offset == 0 and draw(st.booleans()):
        text = text.replace("+00:00", "Z")
    return text


@st.composite
def good_value(draw, name: str, field, recorded: bool):
    """A value pydantic most likely accepts for ``field``."""
    base = _base(field.annotation)
    if name in ("recorded_at", "received_at"):
        return _time_text(draw, recorded)
    if base is uuid.UUID:
        text = str(draw(st.uuids()))
        return draw(st.sampled_from([text] * 8 + [text.upper(), text.replace("-", "")]))
    if typing.get_origin(base) is typing.Literal:
        return draw(st.sampled_from(typing.get_args(base)))
    if name == "device_id":
        return draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,8}", fullmatch=True))
    if base is bool:
        return draw(st.booleans())
    low, high, edges = _bounds(field)
    if base is int:
        inside = st.integers(
            -1000 if low is None else int(low), 1000 if high is None else int(high)
        )
        edges = [int(b) for b in edges if float(b).is_integer()]
        rare = draw(st.integers(0, 9)) == 0 and edges
        return draw(st.sampled_from(edges) if rare else inside)
    if base is float:
        inside = st.floats(
            -1e6 if low is None else low,
            1e6 if high is None else high,
            allow_nan=False,
        )
        extremes = st.sampled_from([5e-324, -5e-324, 1e-300, 1.5e38, -0.0])
        return draw(
            st.sampled_from(
                [inside] * 17 + [extremes, st.sampled_from(edges or [0])]
            ).flatmap(lambda strategy: strategy)
        )
    if base is str:
        printable = st.text(st.characters(min_codepoint=0x20), max_size=40)
        return draw(st.one_of(printable, printable, printable, st.text(max_size=40)))
    raise AssertionError(base)


@st.composite
def message(draw, family: str) -> bytes | None:
    """A Kafka value of the family: mostly valid, often a little broken."""
    model = FAMILIES[family].model
    fields = model.model_fields
    event = {
        name: draw(good_value(name, field, recorded=name == "recorded_at"))
        for name, field in fields.items()
    }
    broken = draw(st.integers(0, 2)) == 0
    for name in draw(st.lists(st.sampled_from(list(fields)), max_size=2 * broken)):
        event[name] = draw(
            st.one_of(BAD_JSON_VALUES, HUGE, st.just(None), st.just(float("nan")))
        )
    if draw(st.integers(0, 9)) == 0:
        del event[draw(st.sampled_from(list(fields)))]
    if draw(st.integers(0, 19)) == 0:
        event[draw(st.sampled_from(["extra", "Latitude", "x "]))] = 1
    return _spelled(draw, event)


def _spelled(draw, event: dict) -> bytes | None:
    """``event`` as JSON bytes, mostly compact, sometimes damaged."""
    spacing = draw(st.sampled_from(["compact"] * 8 + ["spaced", "ascii"]))
    if spacing == "compact":
        text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    elif spacing == "ascii":
        text = json.dumps(event, separators=(",", ":"))
    else:
        text = json.dumps(event)
    raw = text.encode(errors="surrogatepass")  # a lone surrogate: not UTF-8
    damage = draw(st.integers(0, 29))
    if damage == 0:
        return None  # a tombstone
    if damage == 1:
        return raw[: draw(st.integers(0, len(raw)))]
    if damage == 2:
        return draw(st.binary(max_size=20))
    if damage == 3:
        first, value = next(iter(event.items()))
        return raw[:-1] + f',"{first}":{json.dumps(value)}}}'.encode()  # twice
    if damage == 4:
        return b" " + raw + b"\n"
    return raw


# --- the two paths -------------------------------------------------------------


def _stored(kind: str, value):
    """A row value as its column stores it."""
    if value is None:
        return None
    if kind == "float4":
        return float(np.float32(value))
    if kind == "uuid":
        return uuid.UUID(str(value))
    if kind == "timestamptz":
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    return value


def _pydantic_path(family: str, messages: list[FakeMessage]):
    model, layout = FAMILIES[family].model, LAYOUTS[family]
    rows, dead = [], []
    for m in messages:
        event = decode(model, m, FAMILIES[family].topic.name)
        if isinstance(event, Poison):
            dead.append((m.offset(), event))
        else:
            rows.append(layout.row(event, m.partition(), m.offset()))
    return rows, dead


def _stored_rows(family: str, rows) -> list[tuple]:
    kinds = LAYOUTS[family].types
    return sorted(
        (tuple(_stored(k, v) for k, v in zip(kinds, row)) for row in rows),
        key=lambda r: r[-1],
    )


def _both_paths(family: str, values: list[bytes | None]):
    messages = [FakeMessage(PARTITION, 100 + i, v) for i, v in enumerate(values)]
    fast: FastPath = fast_path(FAMILIES[family])
    frame, rest = fast.split(
        values, PARTITION, [m.offset() for m in messages], datetime.now(UTC)
    )
    assert frame.columns == LAYOUTS[family].columns
    left_rows, left_dead = _pydantic_path(family, [messages[i] for i in rest])
    engine_rows = _stored_rows(family, [*frame.rows(), *left_rows])
    reference_rows, reference_dead = _pydantic_path(family, messages)
    return engine_rows, left_dead, _stored_rows(family, reference_rows), reference_dead


@pytest.mark.parametrize("family", FAST)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_both_paths_land_the_same_rows_and_dead_letters(family, data):
    values = data.draw(st.lists(message(family), min_size=1, max_size=40))
    engine_rows, engine_dead, rows, dead = _both_paths(family, values)
    assert engine_rows == rows
    assert engine_dead == dead


@pytest.mark.parametrize("family", FAST)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_fast_path_vouches_for_what_the_ingress_writes(family, data):
    """Valid events, serialised as the ingress does, never fall back.

    Except those the fast path leaves to pydantic by design: a string with an
    escape, a ``real`` beyond a 4-byte float.
    """
    model = FAMILIES[family].model
    events = []
    for _ in range(data.draw(st.integers(1, 20))):
        fields = model.model_fields
        candidate = {
            name: data.draw(good_value(name, field, recorded=False))
            for name, field in fields.items()
        }
        try:
            event = model.model_validate(candidate)
        except ValueError:
            continue
        if any(
            isinstance(v, float) and abs(v) > FLOAT4_MAX
            for v in event.model_dump().values()
        ):
            continue
        raw = event.model_dump_json().encode()
        if b"\\" not in raw:
            events.append(raw)
    frame, rest = fast_path(FAMILIES[family]).split(
        events, PARTITION, list(range(len(events))), datetime.now(UTC)
    )
    assert rest == []
    assert frame.height == len(events)


def test_a_batch_polars_cannot_read_is_halved_down_to_the_message():
    """One unreadable message leaves only itself to pydantic."""
    fam = FAMILIES["gps"]
    good = fam.model(
        device_id="d1", recorded_at=NOW, latitude=1.0, longitude=2.0
    ).model_dump_json()
    bad = good.replace('"latitude":1.0', '"latitude":1e999')  # polars: not a number
    values = [good.encode()] * 7 + [bad.encode()] + [good.encode()] * 8
    frame, rest = fast_path(fam).split(values, 0, list(range(16)), datetime.now(UTC))
    assert rest == [7]
    assert frame.height == 15
