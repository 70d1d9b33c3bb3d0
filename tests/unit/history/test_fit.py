"""FIT files, built byte by byte as the FIT SDK documents them (no encoder needed)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest

from ingest_api.history import HistoryFormatError
from tests.unit.history.conftest import imported, rows

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
SEMICIRCLES = 2**31 / 180
_CRC = [
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
]  # fmt: skip


def crc(data: bytes) -> int:
    """The FIT SDK's CRC-16."""
    value = 0
    for byte in data:
        for nibble in (byte & 0xF, byte >> 4):
            tmp = _CRC[value & 0xF]
            value = (value >> 4) & 0x0FFF
            value = value ^ tmp ^ _CRC[nibble]
    return value


def fit_file(points: list[tuple[datetime, float | None, float | None]]) -> bytes:
    """A FIT activity with one ``record`` message (global 20) per point."""
    # The definition: local type 0, little endian, global message 20, and three
    # fields: timestamp 253 (uint32), position_lat 0 and position_long 1 (sint32).
    body = bytes([0x40, 0, 0]) + struct.pack("<HB", 20, 3)
    body += bytes([253, 4, 0x86, 0, 4, 0x85, 1, 4, 0x85])
    invalid = 0x7FFFFFFF  # FIT's "no value" for sint32
    for time, lat, lon in points:
        body += bytes([0x00]) + struct.pack(
            "<Iii",
            int((time - FIT_EPOCH).total_seconds()),
            invalid if lat is None else round(lat * SEMICIRCLES),
            invalid if lon is None else round(lon * SEMICIRCLES),
        )
    header = struct.pack("<BBHI4s", 14, 0x10, 2132, len(body), b".FIT")
    header += struct.pack("<H", crc(header))
    data = header + body
    return data + struct.pack("<H", crc(data))


def test_fit_records_become_fixes_and_gps_less_ones_are_skipped(write):
    t = datetime(2024, 5, 1, 8, tzinfo=UTC)
    data = fit_file([(t, 52.52, 13.405), (t.replace(second=5), None, None)])
    found, fixes, problems = imported(write("ride.fit", data))
    assert found == "fit"
    assert rows(fixes) == [("2024-05-01T08:00:00Z", 52.52, 13.405)]
    assert problems == [("record 2", "the record has no position (no GPS)")]


def test_a_damaged_fit_file_is_a_format_error(write):
    data = bytearray(fit_file([(datetime(2024, 5, 1, tzinfo=UTC), 1.0, 2.0)]))
    data[-5] ^= 0xFF  # break the data, not the header: the file CRC catches it
    with pytest.raises(HistoryFormatError, match="not a readable FIT file"):
        imported(write("broken.fit", bytes(data)))
