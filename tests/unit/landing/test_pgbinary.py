"""The binary COPY writer, read back with the format's own rules."""

from __future__ import annotations

import struct
import uuid
from datetime import datetime, timedelta

import polars as pl
import pytest

from loom_dagster.landing import pgbinary
from loom_dagster.landing.pgbinary import HEADER, binary_copy

PG_EPOCH = datetime(2000, 1, 1)  # noqa: DTZ001 - naive UTC, as the frames hold
UNPACK = {
    "float8": ">d",
    "float4": ">f",
    "int2": ">h",
    "int4": ">i",
    "int8": ">q",
    "bool": ">?",
}


def read_back(data: bytes, types: list[str]) -> list[tuple]:
    assert data.startswith(HEADER)
    at, rows = len(HEADER), []
    while True:
        (fields,) = struct.unpack_from(">h", data, at)
        at += 2
        if fields == -1:
            assert at == len(data)
            return rows
        assert fields == len(types)
        row = []
        for kind in types:
            (size,) = struct.unpack_from(">i", data, at)
            at += 4
            if size == -1:
                row.append(None)
                continue
            raw = data[at : at + size]
            at += size
            if kind == "text":
                row.append(raw.decode())
            elif kind == "uuid":
                row.append(str(uuid.UUID(bytes=raw)))
            elif kind == "timestamptz":
                (us,) = struct.unpack(">q", raw)
                row.append(PG_EPOCH + timedelta(microseconds=us))
            else:
                (value,) = struct.unpack(UNPACK[kind], raw)
                row.append(value)
        rows.append(tuple(row))


@pytest.mark.parametrize("max_layouts", [64, 0])  # as records; byte by byte
@pytest.mark.parametrize("rows", [0, 1, 5])
def test_every_type_and_null_reads_back_as_written(rows, max_layouts, monkeypatch):
    monkeypatch.setattr(pgbinary, "MAX_LAYOUTS", max_layouts)
    types = ["timestamptz", "text", "uuid", "float8", "float4", "int2", "int4"]
    types += ["int8", "bool", "text"]
    ids = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(rows)]
    frame = pl.DataFrame(
        {
            "time": [datetime(1999, 12, 31, 23, 59, 59, 999999)] * rows,  # noqa: DTZ001
            "device": ["émoji ✓", "", 'a,b"c\n', "x" * 300, "d"][:rows],
            "id": ids,
            "f8": [5e-324, -0.0, 1e308, None, 48.85661400000001][:rows],
            "f4": [0.1, None, 3.4e38, -1.5, 1e-45][:rows],
            "i2": [-32768, 32767, None, 0, 1][:rows],
            "i4": [2**31 - 1, -(2**31), 0, None, 7][:rows],
            "i8": [2**63 - 1, 0, -1, 5, None][:rows],
            "b": [True, False, None, True, False][:rows],
            "t": [None, "owntracks", None, "", "z"][:rows],
        },
        schema={
            "time": pl.Datetime("us"),
            "device": pl.String,
            "id": pl.String,
            "f8": pl.Float64,
            "f4": pl.Float32,
            "i2": pl.Int16,
            "i4": pl.Int32,
            "i8": pl.Int64,
            "b": pl.Boolean,
            "t": pl.String,
        },
    )
    written = read_back(binary_copy(frame, types), types)
    assert sorted(written, key=repr) == sorted(frame.rows(), key=repr)


def test_rows_of_one_layout_come_out_in_order_as_one_block():
    frame = pl.DataFrame({"x": [1.5, 2.5, None, 3.5], "t": ["ab", "cd", "ef", "gh"]})
    written = read_back(binary_copy(frame, ["float8", "text"]), ["float8", "text"])
    assert written == [(1.5, "ab"), (2.5, "cd"), (3.5, "gh"), (None, "ef")]
