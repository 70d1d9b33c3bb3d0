"""Hostile input is normal input: every importer, fed broken copies of valid files,
either yields records (fixes or problems with reasons) or stops with one
``HistoryFormatError``; nothing else escapes."""

from __future__ import annotations

import io
import json
import random
import zipfile

import pytest

from ingest_api.history import HistoryFormatError
from ingest_api.history.load import FORMATS, inputs
from tests.unit.history.conftest import imported
from tests.unit.history.test_fit import fit_file
from tests.unit.history.test_formats import CASES, T

VALID = {fmt: content for content, fmt, _, _ in CASES.values()}
VALID["fit"] = fit_file([(__import__("datetime").datetime.fromisoformat(T), 1.0, 2.0)])


def mangled(content: bytes, seed: int) -> bytes:
    rng = random.Random(seed)
    data = bytearray(content)
    kind = seed % 4
    if kind == 0:  # cut short
        return bytes(data[: rng.randrange(len(data))])
    if kind == 1:  # bytes flipped
        for _ in range(5):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if kind == 2:  # a span repeated (nesting, duplicated fields)
        start = rng.randrange(len(data))
        return bytes(data[:start] + data[start : start + 40] * 50 + data[start:])
    return bytes(data).replace(b"\n", b"\x00\n", 3)  # NUL bytes


def outcome(path, fmt=None) -> str | list:
    """The problems of importing ``path``, or the message of its format error."""
    try:
        return imported(path, fmt)[2]
    except HistoryFormatError as exc:
        return str(exc)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_broken_copies_never_escape_as_other_errors(write, fmt):
    content = VALID[fmt]
    content = content.encode() if isinstance(content, str) else content
    for seed in range(40):
        result = outcome(write(f"broken-{seed}", mangled(content, seed)), fmt)
        # a whole-file error names why; otherwise every skipped record has a reason
        assert result if isinstance(result, str) else all(r for _, r in result)


@pytest.mark.parametrize(
    "content",
    [
        "time,lat,lon\n" + "x" * 200_000 + ",1,2\n",  # a field over csv's limit
        "2024-05-01T08:00:00Z\t*\t" + "[" * 100_000 + "\n",  # deep JSON
        '{"locations": [' + "[" * 100_000,
        json.dumps(
            [
                {
                    "startTime": T,
                    "timelinePath": [
                        {
                            "point": "geo:1,2",
                            "durationMinutesOffsetFromStartTime": "1e30",
                        }
                    ],
                }
            ]
        ),
    ],
    ids=["huge-csv-field", "deep-json-line", "deep-json-stream", "huge-offset"],
)
def test_pathological_files_fail_cleanly(write, content):
    result = outcome(write("bad.dat", content))
    assert result if isinstance(result, str) else all(r for _, r in result)


def test_a_damaged_zip_member_is_named_with_its_reason(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.gpx", CASES[next(iter(CASES))][0] * 20)
    data = bytearray(buffer.getvalue())
    data[200] ^= 0xFF  # inside the compressed member
    path = tmp_path / "damaged.zip"
    path.write_bytes(bytes(data))
    (item,) = inputs(path)
    assert item.fmt is None
    assert item.unreadable.startswith("cannot be read (")


def test_an_encrypted_member_is_named_with_its_reason(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.gpx", "<gpx/>")
    data = bytearray(buffer.getvalue())
    # set the "encrypted" flag bit in the local and central headers
    for header in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.index(header) + (6 if header == b"PK\x03\x04" else 8)
        data[at] |= 0x01
    path = tmp_path / "locked.zip"
    path.write_bytes(bytes(data))
    (item,) = inputs(path)
    assert item.fmt is None
    assert "encrypted" in item.unreadable


def test_a_member_that_unpacks_past_the_limit_stops_with_why(tmp_path, monkeypatch):
    monkeypatch.setattr("ingest_api.history.load.MAX_MEMBER_BYTES", 100_000)
    records = {"locations": [{"latitudeE7": 1, "longitudeE7": 2, "timestamp": T}]}
    bomb = json.dumps(records).replace("[", "[" + " " * 1_000_000, 1)
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Records.json", bomb)
        archive.writestr("inner.zip", b"PK\x03\x04" + bytes(200_000))
    assert "unpacks to more than 100000 bytes" in outcome(path)
    found = {item.name: item.unreadable for item in inputs(path)}
    assert found["bomb.zip/inner.zip"] == (
        "a ZIP inside a ZIP that unpacks to more than 100000 bytes (a ZIP bomb?)"
    )
