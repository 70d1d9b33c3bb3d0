"""Print query results: an aligned table for people, CSV or JSON for programs."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from loom_cli.analytics.client import Result

NUMERIC = ("bigint", "integer", "smallint", "tinyint", "double", "real", "decimal")
NULL = "NULL"


_CONVERT: tuple[tuple[type | Any, Any], ...] = (
    (datetime | date | time, lambda v: v.isoformat()),
    (Decimal, lambda v: int(v) if v == v.to_integral_value() else float(v)),
    (bytes, bytes.hex),
    (list | tuple, lambda v: [plain(x) for x in v]),
    (dict, lambda v: {str(k): plain(x) for k, x in v.items()}),
)


def plain(value: Any) -> Any:
    """Return ``value`` as JSON-ready data (strings for times, numbers for decimals)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity
    if value is None or isinstance(value, bool | int | float | str):
        return value
    for kind, convert in _CONVERT:
        if isinstance(value, kind):
            return convert(value)
    return str(value)  # uuid and other scalar types


def text(value: Any) -> str:
    """Return ``value`` as text: SQL spelling for booleans, JSON for arrays and rows."""
    data = plain(value)
    if isinstance(data, list | dict):
        return json.dumps(data, ensure_ascii=False)
    if isinstance(data, bool):
        return "true" if data else "false"
    return str(data)


def cell(value: Any) -> str:
    """Return the text of one table cell, on one line."""
    if value is None:
        return NULL
    return text(value).replace("\r", "\\r").replace("\n", "\\n")


def table(result: Result, out: IO[str]) -> None:
    """Write ``result`` as an aligned text table with a row count."""
    headers = [c.name for c in result.columns]
    body = [[cell(v) for v in row] for row in result.rows]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(headers)]
    right = [c.type.startswith(NUMERIC) for c in result.columns]

    def line(cells: Sequence[str], align: Sequence[bool]) -> str:
        padded = (
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, align)
        )
        return (" " + " | ".join(padded)).rstrip() + "\n"

    out.write(line(headers, [False] * len(headers)))
    out.write("-" + "-+-".join("-" * w for w in widths) + "-\n")
    for row in body:
        out.write(line(row, right))
    count = len(body)
    out.write(f"({count} row{'' if count == 1 else 's'})\n")


def to_csv(result: Result, out: IO[str]) -> None:
    """Write ``result`` as CSV with a header row; NULL is an empty field."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(c.name for c in result.columns)
    for row in result.rows:
        writer.writerow("" if v is None else text(v) for v in row)


def to_json(result: Result, out: IO[str]) -> None:
    """Write ``result`` as a JSON array of objects, one row per line."""
    names = [c.name for c in result.columns]
    lines = [
        json.dumps(dict(zip(names, map(plain, row))), ensure_ascii=False)
        for row in result.rows
    ]
    out.write("[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n")


FORMATS = {"table": table, "csv": to_csv, "json": to_json}
