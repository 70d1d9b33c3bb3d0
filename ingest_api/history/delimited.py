"""CSV and TSV exports (GPSLogger, OsmAnd, Dawarich, spreadsheets, data loggers).

The header row names the columns; it is the first line that names a latitude and
a longitude column (blank lines and ``#`` comments before it are skipped). The
delimiter is the header's comma, semicolon or tab; values may use decimal commas,
hemisphere letters (``52.52N``), E7 integers (``latitudeE7`` columns), ISO times,
epoch seconds or milliseconds, or a separate date and time column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ingest_api.history import HistoryFormatError, Problem, Records, candidate
from ingest_api.history.values import (
    LATITUDE,
    LONGITUDE,
    NAMES,
    TIME,
    degrees,
    first,
    key,
    measurements,
    split_when,
    when,
)

SOURCE = "csv"
DELIMITERS = ",;\t"
# GPSLogger's CSV names these columns; its rows keep the app's source.
GPSLOGGER = {"satellites", "provider"}
KNOWN = {*TIME, *LATITUDE, *LONGITUDE, *(n for names in NAMES.values() for n in names)}


@dataclass(frozen=True)
class Header:
    """The columns of a CSV file that Loom reads."""

    delimiter: str
    names: list[str]  # normalised, in file order
    latitude: str
    longitude: str
    time: str | None
    date: str | None  # a separate date column, when ``time`` is a time of day
    source: str


def header(line: str) -> Header | None:
    """Return the header a line is, or ``None`` if it names no lat/lon columns."""
    delimiter = max(DELIMITERS, key=line.count)
    if not line.count(delimiter):
        return None
    try:
        names = [key(n) for n in next(csv.reader([line], delimiter=delimiter))]
    except csv.Error:
        return None
    present = dict.fromkeys(names)
    latitude, longitude = first(present, LATITUDE), first(present, LONGITUDE)
    if latitude is None or longitude is None:
        return None
    time = first(present, TIME)
    date = None
    if time == "date" and "time" in present:
        time, date = "time", "date"
    elif time == "time" and "date" in present:
        date = "date"
    return Header(
        delimiter,
        names,
        latitude,
        longitude,
        time,
        date,
        "gpslogger" if present.keys() >= GPSLOGGER else SOURCE,
    )


def first_header(text: str) -> Header | None:
    """Return the header among the first lines of ``text`` (for sniffing)."""
    for line in text.splitlines()[:20]:
        if line.strip() and not line.lstrip().startswith("#"):
            return header(line)
    return None


def read(stream: BinaryIO) -> Records:
    """Yield a candidate or problem per data row."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    lines = enumerate(text, start=1)
    found = next(
        (
            header(line)
            for _, line in lines
            if line.strip() and not line.lstrip().startswith("#")
        ),
        None,
    )
    if found is None:
        msg = "no header row naming a latitude and a longitude column"
        raise HistoryFormatError(msg)
    if found.time is None:
        msg = "the header names no time column (time, timestamp, date ...)"
        raise HistoryFormatError(msg)
    numbers: list[int] = []

    def rest() -> Iterator[str]:
        for number, line in lines:
            numbers.append(number)
            yield line

    rows = csv.reader(rest(), delimiter=found.delimiter)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv's size limit, a NUL byte
            msg = f"line {numbers[-1] if numbers else '?'}: {exc}"
            raise HistoryFormatError(msg) from None
        where = f"line {numbers[-1]}"
        numbers.clear()
        if any(cell.strip() for cell in row):
            yield _row(found, dict(zip(found.names, row, strict=False)), where)


def _row(found: Header, values: dict[str, str], where: str) -> Records:
    if len(values) < len(found.names) and found.longitude not in values:
        return Problem(where, f"only {len(values)} of {len(found.names)} columns")
    time = values.get(found.time or "", "")
    if not time.strip():
        return Problem(where, f"no time in column {found.time!r}")
    try:
        recorded_at = (
            split_when(values.get(found.date, ""), time) if found.date else when(time)
        )
        return candidate(
            where,
            recorded_at=recorded_at,
            latitude=degrees(values[found.latitude], "lat", "e7" in found.latitude),
            longitude=degrees(values[found.longitude], "lon", "e7" in found.longitude),
            **{"source": found.source, **measurements(values)},
        )
    except ValueError as exc:
        return Problem(where, str(exc))
    except KeyError as exc:
        return Problem(where, f"no value in column {exc}")
