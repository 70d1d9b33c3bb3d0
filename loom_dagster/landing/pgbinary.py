"""A polars data frame as PostgreSQL's binary COPY format, built with numpy.

PostgreSQL parses binary COPY at about half the CPU of CSV (floats, times and
UUIDs need no text parsing; bench/landing_throughput.py). psycopg writes the
format a row at a time from Python objects; here each column becomes big-endian
bytes in one numpy operation, and the bytes are scattered into one buffer:

    header, then per row: int16 field count, per field int32 length (-1: NULL)
    and the value's bytes; then the int16 trailer -1.
"""

from __future__ import annotations

import numpy as np
import polars as pl

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, extension area
TRAILER = b"\xff\xff"
# Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01 (UTC).
PG_EPOCH_US = 946_684_800 * 1_000_000
FIXED = {
    "float8": ">f8",
    "float4": ">f4",
    "int2": ">i2",
    "int4": ">i4",
    "int8": ">i8",
    "timestamptz": ">i8",
    "bool": "u1",
}


def _values(column: pl.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Return a column's non-NULL values as bytes, and each row's length (-1)."""
    present = column.drop_nulls()
    if kind in FIXED:
        if kind == "timestamptz":
            present = present.cast(pl.Int64) - PG_EPOCH_US  # naive UTC times
        dtype = np.dtype(FIXED[kind])
        data = present.to_numpy().astype(dtype).view(np.uint8)
        lengths = np.where(column.is_null().to_numpy(), -1, dtype.itemsize)
    elif kind == "uuid":
        text = present.str.replace_all("-", "", literal=True).str.join("").item()
        data = np.frombuffer(bytes.fromhex(text), dtype=np.uint8)
        lengths = np.where(column.is_null().to_numpy(), -1, 16)
    elif kind == "text":
        joined = present.str.join("").item().encode()
        data = np.frombuffer(joined, dtype=np.uint8)
        lengths = column.str.len_bytes().fill_null(-1).to_numpy()
    else:
        msg = f"no binary COPY writer for {kind}"
        raise ValueError(msg)
    return data, lengths.astype(np.int64)


# Rows sharing the same field lengths are written as one numpy record array;
# beyond this many distinct layouts in a frame, byte by byte (slower).
MAX_LAYOUTS = 64


def binary_copy(frame: pl.DataFrame, types: list[str]) -> bytes:
    """Return ``frame`` (columns of PostgreSQL ``types``) as binary COPY data.

    The rows come out grouped by layout (which fields are NULL, how long each
    text is), not in the frame's order: COPY's order does not matter.
    """
    lengths = frame.select(
        _length(pl.col(c), t).alias(c) for c, t in zip(frame.columns, types)
    )
    layouts = (
        lengths.with_row_index("_row")
        .group_by(frame.columns, maintain_order=True)
        .agg("_row")
    )
    if layouts.height > MAX_LAYOUTS:
        return _scattered(frame, types)
    parts = [HEADER]
    for layout in layouts.iter_rows():
        *sizes, rows = layout
        parts.append(_records(frame[rows], types, sizes))
    parts.append(TRAILER)
    return b"".join(parts)


def _length(column: pl.Expr, kind: str) -> pl.Expr:
    """Return the byte length of each value of a column of PostgreSQL ``kind``."""
    if kind == "text":
        size = column.str.len_bytes().cast(pl.Int64)
    else:
        size = pl.lit(16 if kind == "uuid" else np.dtype(FIXED[kind]).itemsize)
    return pl.when(column.is_null()).then(-1).otherwise(size)


def _records(frame: pl.DataFrame, types: list[str], sizes: list[int]) -> bytes:
    """Return rows that share one layout (field ``sizes``) as one record array."""
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for i, (kind, size) in enumerate(zip(types, sizes)):
        fields.append((f"l{i}", ">i4"))
        if size > 0:
            fixed = FIXED.get(kind)
            fields.append((f"v{i}", fixed or f"S{size}"))
    records = np.empty(frame.height, dtype=np.dtype(fields))
    records["n"] = len(types)
    for i, (column, kind, size) in enumerate(zip(frame.columns, types, sizes)):
        records[f"l{i}"] = size
        if size > 0:
            data, _ = _values(frame.get_column(column), kind)
            records[f"v{i}"] = data.view(records.dtype[f"v{i}"])
    return records.tobytes()


def _scattered(frame: pl.DataFrame, types: list[str]) -> bytes:
    """Return ``frame`` as binary COPY data, each field's bytes scattered."""
    rows = frame.height
    columns = [_values(frame.get_column(c), t) for c, t in zip(frame.columns, types)]
    # Each row: 2 bytes of field count, then 4 + length bytes per field.
    widths = np.full(rows, 2, dtype=np.int64)
    for _, lengths in columns:
        widths += 4 + np.maximum(lengths, 0)
    starts = np.zeros(rows, dtype=np.int64)
    np.cumsum(widths[:-1], out=starts[1:])
    out = np.empty(int(widths.sum()), dtype=np.uint8)
    _scatter(out, starts, np.full(rows, len(types), dtype=">i2").view(np.uint8), 2)
    at = starts + 2  # where each row's next field starts
    for data, lengths in columns:
        _scatter(out, at, lengths.astype(">i4").view(np.uint8), 4)
        at += 4
        present = lengths >= 0
        sizes = lengths[present]
        if sizes.size and (sizes == sizes[0]).all():
            _scatter(out, at[present], data, int(sizes[0]))
        elif sizes.size:
            # Variable widths: each byte goes to its row's start plus its place.
            firsts = np.zeros(sizes.size, dtype=np.int64)
            np.cumsum(sizes[:-1], out=firsts[1:])
            shift = np.repeat(at[present] - firsts, sizes)
            out[shift + np.arange(int(sizes.sum()))] = data
        at += np.maximum(lengths, 0)
    return HEADER + out.tobytes() + TRAILER


def _scatter(out: np.ndarray, starts: np.ndarray, data: np.ndarray, width: int) -> None:
    """Write ``width`` bytes of ``data`` per row at each of ``starts``."""
    out[(starts[:, None] + np.arange(width)).ravel()] = data
