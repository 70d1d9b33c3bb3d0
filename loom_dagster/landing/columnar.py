"""The columnar fast path: a batch of Kafka messages as typed, checked columns.

A landing run's per-message loop spent about 10 µs of Python on each message
(docs/benchmarks.md). Here a whole batch is read by polars in Rust: the JSON
lines become typed columns, the contract's checks run as vector expressions, and
the rows that pass become one data frame, written to PostgreSQL as one COPY.

The contract stays the single source of truth: :func:`fast_path` derives the
columns and the checks from the pydantic model's fields (types, ``ge``/``gt``/
``le``/``lt``, ``max_length``, ``pattern``, literals, optional fields, and the
time rules of :mod:`loom_core.contracts.envelope`). A family with anything it
cannot model (bytes, lists, nested models, model or field validators, unknown
validators) has no fast path. Within a batch, the fast path only *vouches* for
a message it can prove the pydantic model accepts with the same values; every
other message - a failed check, a shape it does not model, anything ambiguous -
goes to the pydantic path (:func:`~loom_dagster.landing.decode.decode`), which
decides and names the dead-letter reason. So the fast path never dead-letters
anything, and what lands is what the pydantic path would have landed
(``tests/unit/landing/test_columnar_property.py`` checks this with generated
messages).

What it vouches for, beyond the contract's checks, is the shape the ingress
writes (``model_dump_json``), matched by one regular expression derived from
the model (:attr:`FastPath.template`):

- one compact JSON object, every field of the model present once, in the
  model's order, and nothing else (a missing ``event_id`` or ``received_at`` is
  derived by the pydantic path);
- each value of the JSON type its field takes (a number, a string without
  escapes or control characters, ``true``/``false``; ``null`` only where the
  field is optional);
- times written ``YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM)``, within
  years 1-9999 in UTC, ``recorded_at`` more than a minute inside the clock-skew
  limit (a time at the limit is left to the pydantic path's clock), and UUIDs
  in their hyphenated form;
- ``real``, ``smallint`` and ``integer`` columns within their types' ranges.
"""

from __future__ import annotations

import functools
import io
import types
import typing
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import annotated_types
import polars as pl
from pydantic import AfterValidator, AwareDatetime, StringConstraints
from pydantic.fields import FieldInfo

from loom_core.contracts import Family, envelope
from loom_dagster.landing.rows import HEAD, HEAD_ATTRIBUTES, LAYOUTS, TAIL, Layout

# recorded_at closer than this to the clock-skew limit is left to pydantic.
SKEW_MARGIN = timedelta(minutes=1)
# What a column holds beyond the contract's own bounds; a value outside is left
# to the pydantic path (which fails as it always did).
FLOAT4_MAX = 3.4028234663852886e38
INT_BITS = {"int2": 16, "int4": 32}
# The JSON values the template accepts, by kind; polars then reads them.
NUMBER = r"-?[0-9][0-9.eE+-]*"
STRING = r'"[^"\\\x00-\x1f]*"'  # no escape, no control character
VALUES = {"float": NUMBER, "int": NUMBER, "bool": "(?:true|false)"}  # else STRING
# The forms of times and UUIDs read here (checked on their columns: cheaper
# than in the template).
FORMATS = {
    "time": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$",
    "uuid": r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$",
}
_UTC_MIN = datetime(1, 1, 1)  # noqa: DTZ001 - compared with naive UTC
_UTC_MAX = datetime(9999, 12, 31, 23, 59, 59, 999999)  # noqa: DTZ001
# The time rules of the envelope, by the validator that applies them.
_TIME_RULES = {
    envelope._to_utc: "utc",  # noqa: SLF001 - the contract's own rule
    envelope._utc_not_in_future: "recorded",  # noqa: SLF001
}


# Model settings that change nothing the fast path reads (others, such as
# strict or str_strip_whitespace, would).
_KNOWN_CONFIG = {
    "extra",
    "allow_inf_nan",
    "json_schema_serialization_defaults_required",
    "title",
}


class UnsupportedError(ValueError):
    """A contract the fast path cannot model; its family stays on pydantic."""


@dataclass(frozen=True)
class Field:
    """One contract field as the fast path reads and checks it.

    Parameters
    ----------
    name
        The field (and JSON key).
    kind
        ``float``, ``int``, ``str``, ``bool``, ``uuid`` or ``time``.
    optional
        Whether ``None`` is valid (its default is then ``None``).
    checks
        Vector checks of the value, each true where the value is valid.
    time_rule
        ``utc`` or ``recorded`` for times (see envelope).
    """

    name: str
    kind: str
    optional: bool
    checks: tuple[pl.Expr, ...] = ()
    time_rule: str | None = None

    @property
    def read_type(self) -> pl.DataType:
        """The type polars reads the JSON value as."""
        return {"float": pl.Float64(), "int": pl.Int64(), "bool": pl.Boolean()}.get(
            self.kind, pl.String()
        )

    @property
    def pattern(self) -> str:
        """The regular expression of the field's key and value in the template."""
        value = VALUES.get(self.kind, STRING)
        return f'"{self.name}":' + (f"(?:{value}|null)" if self.optional else value)


def _unwrap(annotation: object) -> tuple[object, bool, list[object]]:
    """Return the type of ``annotation``, whether it is optional, its metadata."""
    optional, metadata = False, []
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            msg = f"union {annotation}"
            raise UnsupportedError(msg)
        optional, annotation = True, args[0]
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        for item in extra:
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return annotation, optional, metadata


def _constraint(col: pl.Expr, item: object) -> pl.Expr | str:
    """Return the check of one metadata item, or a time rule's name."""
    checks: list[tuple[type, Callable[[object], pl.Expr]]] = [
        (annotated_types.Ge, lambda c: col >= c.ge),
        (annotated_types.Gt, lambda c: col > c.gt),
        (annotated_types.Le, lambda c: col <= c.le),
        (annotated_types.Lt, lambda c: col < c.lt),
        (annotated_types.MaxLen, lambda c: col.str.len_chars() <= c.max_length),
        (annotated_types.MinLen, lambda c: col.str.len_chars() >= c.min_length),
    ]
    for kind, check in checks:
        if isinstance(item, kind):
            return check(item)
    if isinstance(item, StringConstraints):
        known = {"pattern", "max_length", "min_length"}
        used = {k for k, v in vars(item).items() if v is not None}
        if used - known:
            msg = f"string constraints {sorted(used - known)}"
            raise UnsupportedError(msg)
        parts = [col.str.contains(item.pattern)] if item.pattern else []
        if item.max_length is not None:
            parts.append(col.str.len_chars() <= item.max_length)
        if item.min_length is not None:
            parts.append(col.str.len_chars() >= item.min_length)
        return pl.all_horizontal(parts) if parts else pl.lit(value=True)
    if isinstance(item, AfterValidator) and item.func in _TIME_RULES:
        return _TIME_RULES[item.func]
    msg = f"constraint {item!r}"
    raise UnsupportedError(msg)


def _field(name: str, info: FieldInfo) -> Field:
    """Return how the fast path reads and checks one field of a contract."""
    base, optional, metadata = _unwrap(info.annotation)
    metadata = [*metadata, *info.metadata]
    if optional and (info.default is not None or info.default_factory is not None):
        msg = f"{name}: optional without a None default"
        raise UnsupportedError(msg)
    col = pl.col(name)
    checks: list[pl.Expr] = []
    time_rule = None
    if typing.get_origin(base) is typing.Literal:
        values = typing.get_args(base)
        kinds = {type(v) for v in values}
        if kinds not in ({int}, {str}):
            msg = f"{name}: literal {values}"
            raise UnsupportedError(msg)
        kind = "int" if kinds == {int} else "str"
        checks.append(col.is_in(list(values)))
    elif base is AwareDatetime:
        kind = "time"
    else:
        kinds = {float: "float", int: "int", str: "str", bool: "bool"}
        kind = kinds.get(base) or ("uuid" if base is uuid.UUID else "")
        if not kind:
            msg = f"{name}: type {base}"
            raise UnsupportedError(msg)
    if kind == "float":
        checks.append(col.is_finite())  # allow_inf_nan=False
    for item in metadata:
        check = _constraint(col, item)
        if isinstance(check, str):
            time_rule = check
        else:
            checks.append(check)
    if kind == "time" and time_rule is None:
        msg = f"{name}: a time without the envelope's UTC rule"
        raise UnsupportedError(msg)
    return Field(name, kind, optional, tuple(checks), time_rule)


class FastPath:
    """The columnar reading and checking of one family's messages.

    Parameters
    ----------
    fam
        The family; its model must be one :func:`_field` can read entirely.
    layout
        Its raw table's columns: the default layout (each column an attribute of
        the event of the same name), or the fast path does not apply.

    Raises
    ------
    UnsupportedError
        When the contract has anything the fast path cannot model.
    """

    def __init__(self, fam: Family, layout: Layout) -> None:
        model = fam.model
        decorators = model.__pydantic_decorators__
        if decorators.model_validators or decorators.field_validators:
            msg = f"{fam.name}: validators"
            raise UnsupportedError(msg)
        if layout.values is not None:
            msg = f"{fam.name}: a computed row layout"
            raise UnsupportedError(msg)
        config = model.model_config
        if config.get("extra") != "forbid" or config.get("allow_inf_nan", True):
            msg = f"{fam.name}: extra fields or NaN allowed"
            raise UnsupportedError(msg)
        if set(config) - _KNOWN_CONFIG:
            msg = f"{fam.name}: model settings {sorted(set(config) - _KNOWN_CONFIG)}"
            raise UnsupportedError(msg)
        self.layout = layout
        self.fields = [_field(n, i) for n, i in model.model_fields.items()]
        self.schema = {f.name: f.read_type for f in self.fields}
        self.template = r"^\{" + ",".join(f.pattern for f in self.fields) + r"\}$"
        self.pg_types = dict(zip(layout.columns, layout.types))

    def _parse_times(self) -> list[pl.Expr]:
        """Return the times, parsed to naive UTC, as ``_utc_<field>`` columns."""
        return [
            pl.col(f.name)
            .str.to_datetime(
                "%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="us", time_zone="UTC", strict=False
            )
            .dt.replace_time_zone(None)
            .alias(f"_utc_{f.name}")
            for f in self.fields
            if f.kind == "time"
        ]

    def _checks(self, now: datetime) -> pl.Expr:
        """Return where every field's value passes the contract's checks.

        Reads the ``_utc_`` columns of :meth:`_parse_times`.
        """
        latest = (now + envelope.MAX_CLOCK_SKEW - SKEW_MARGIN).replace(tzinfo=None)
        checks: list[pl.Expr] = []
        for f in self.fields:
            col = pl.col(f.name)
            valid = [*f.checks]
            if f.kind in FORMATS:
                valid.append(col.str.contains(FORMATS[f.kind]))
            if f.kind == "time":
                utc = pl.col(f"_utc_{f.name}")
                valid += [col.str.head(4) != "0000", utc.is_between(_UTC_MIN, _UTC_MAX)]
                if f.time_rule == "recorded":
                    valid.append(utc <= latest)
            column_type = self.pg_types.get(f.name)
            if column_type == "float4":
                valid.append(col.abs() <= FLOAT4_MAX)
            if column_type in INT_BITS:
                bound = 2 ** (INT_BITS[column_type] - 1)
                valid.append(col.is_between(-bound, bound - 1))
            ok = pl.all_horizontal(valid) if valid else pl.lit(value=True)
            checks.append(col.is_null() | ok if f.optional else col.is_not_null() & ok)
        return pl.all_horizontal(checks).fill_null(value=False)

    def _read(self, lines: list[bytes]) -> pl.DataFrame | None:
        """Read ``lines`` as typed columns; None when polars cannot."""
        try:
            frame = pl.read_ndjson(io.BytesIO(b"\n".join(lines)), schema=self.schema)
        except (pl.exceptions.PolarsError, OverflowError, ValueError):
            return None
        return frame if frame.height == len(lines) else None

    def _read_all(self, lines: list[bytes], index: list[int]) -> list[pl.DataFrame]:
        """Read what polars can of ``lines``, halving a batch it cannot read."""
        frame = self._read(lines)
        if frame is not None:
            return [frame.with_columns(pl.Series("_i", index, dtype=pl.Int64))]
        if len(lines) == 1:
            return []  # left to pydantic
        half = len(lines) // 2
        return self._read_all(lines[:half], index[:half]) + self._read_all(
            lines[half:], index[half:]
        )

    def split(
        self,
        values: Sequence[bytes | None],
        partition: int,
        offsets: Sequence[int],
        now: datetime,
    ) -> tuple[pl.DataFrame, list[int]]:
        """Split a batch into the rows the fast path vouches for and the rest.

        Parameters
        ----------
        values
            The messages' values (``None`` for a tombstone).
        partition, offsets
            Where they sit in Kafka: one partition, each message's offset.
        now
            The clock the skew limit is measured from (aware UTC).

        Returns
        -------
        rows, rest
            The table rows of the messages vouched for (the layout's columns, in
            order and in the types COPY takes), and the indices in ``values`` of
            the messages left to the pydantic path, in order.
        """
        texts = _texts(values)
        shape = pl.DataFrame(
            {"value": texts, "_i": pl.int_range(len(values), eager=True)}
        )
        readable = shape.filter(
            pl.col("value").str.contains(self.template).fill_null(value=False)
        )
        index = readable.get_column("_i").to_list()
        frames = self._read_all([values[i] for i in index], index)  # type: ignore[misc]
        read = (
            pl.concat(frames)
            if frames
            else pl.DataFrame(schema={**self.schema, "_i": pl.Int64})
        )
        vouched = (
            read.with_columns(self._parse_times())
            .filter(self._checks(now))
            .with_columns(  # the times as they land: UTC
                pl.col(f"_utc_{f.name}").alias(f.name)
                for f in self.fields
                if f.kind == "time"
            )
        )
        kept = set(vouched.get_column("_i").to_list())
        rest = [i for i in range(len(values)) if i not in kept]
        offset = pl.Series(offsets, dtype=pl.Int64).gather(vouched.get_column("_i"))
        head = [pl.col(a).alias(n) for (n, _), a in zip(HEAD, HEAD_ATTRIBUTES)]
        rows = vouched.select(
            *head,
            *[pl.col(name) for name, _ in self.layout.fields],
            pl.lit(partition, dtype=pl.Int32).alias(TAIL[0][0]),
            offset.alias(TAIL[1][0]),
        ).cast(
            {
                n: _POLARS_TYPES[t]
                for n, t in zip(self.layout.columns, self.layout.types)
            }
        )
        return rows, rest


_POLARS_TYPES: dict[str, pl.DataType] = {
    "timestamptz": pl.Datetime("us"),
    "text": pl.String(),
    "uuid": pl.String(),
    "float8": pl.Float64(),
    "float4": pl.Float32(),
    "int2": pl.Int16(),
    "int4": pl.Int32(),
    "int8": pl.Int64(),
    "bool": pl.Boolean(),
}


def _texts(values: Sequence[bytes | None]) -> pl.Series:
    """Return the values as text; null where one is a tombstone or not UTF-8."""
    binary = pl.Series("value", values, dtype=pl.Binary)
    try:
        return binary.cast(pl.String)
    except pl.exceptions.PolarsError:
        return pl.Series("value", [_utf8(v) for v in values], dtype=pl.String)


def _utf8(value: bytes | None) -> str | None:
    try:
        return value.decode() if value is not None else None
    except UnicodeDecodeError:
        return None


@functools.cache
def fast_path(fam: Family) -> FastPath | None:
    """Return the family's fast path, or None when its contract has none."""
    layout = LAYOUTS.get(fam.name)
    if layout is None:
        return None
    try:
        return FastPath(fam, layout)
    except UnsupportedError:
        return None
