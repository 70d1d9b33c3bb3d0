"""Find the history in a file, ZIP or folder and validate it, record by record.

`loom import` (:mod:`loom_cli.history.writer`) and ``POST /v1/imports`` both read
through here; each writes the fixes its own way.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from ingest_api.history import (
    HistoryFormatError,
    Problem,
    Record,
    delimited,
    fit,
    geojson,
    google_records,
    google_semantic,
    google_timeline,
    gpx,
    kml,
    overland,
    owntracks,
    tcx,
)
from ingest_api.history.sniff import sniff
from ingest_api.history.streams import HEAD, capped_stream, prefixed
from loom_core.contracts import GpsFix
from loom_core.contracts.ids import derived_event_id

Reader = Callable[[BinaryIO], Iterable[Record]]
FORMATS: dict[str, Reader] = {
    "gpx": gpx.read,
    "kml": kml.read,
    "geojson": geojson.read,
    "csv": delimited.read,
    "tcx": tcx.read,
    "fit": fit.read,
    "overland": overland.read,
    "owntracks": owntracks.read,
    "google-records": google_records.read,
    "google-semantic": google_semantic.read,
    "google-timeline": google_timeline.read,
}
MAX_ZIP_DEPTH = 2  # a KMZ inside a Takeout ZIP, no deeper
SPOOL = 64 * 1024 * 1024  # a nested ZIP above this goes to a temporary file
MAX_MEMBER_BYTES = 8 * 1024**3  # what one ZIP member may unpack to (ZIP bombs)


@dataclass
class Input:
    """One history file to import: a file, or a member of a ZIP or folder."""

    name: str
    fmt: str | None  # None: not a format Loom reads, or unreadable
    stream: BinaryIO
    position: Callable[[], int]  # bytes of the whole import read so far
    unreadable: str | None = None  # why a ZIP member cannot be opened


def inputs(path: Path, fmt: str | None = None) -> Iterator[Input]:
    """Yield every history file in ``path`` (a file, a ZIP or a folder).

    Formats are told from the bytes unless ``fmt`` names one; ZIP members and
    folder files Loom cannot read are yielded with ``fmt=None``.
    """
    if not path.is_dir():
        with path.open("rb") as raw:
            yield from _opened(path.name, raw, fmt, raw.tell, 0)
        return
    done = 0
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in file.relative_to(path).parts):
            continue
        with file.open("rb") as raw:
            yield from _opened(
                str(file.relative_to(path)),
                raw,
                fmt,
                lambda r=raw, d=done: d + r.tell(),
                0,
            )
        done += file.stat().st_size


def total_bytes(path: Path) -> int:
    """Return the bytes an import of ``path`` reads (for a progress bar)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _opened(
    name: str, raw: BinaryIO, fmt: str | None, position: Callable[[], int], depth: int
) -> Iterator[Input]:
    try:
        head = raw.read(HEAD)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a damaged member
        yield Input(name, None, io.BytesIO(), position, f"cannot be read ({exc})")
        return
    kind = sniff(head)
    stream = prefixed(head, raw)
    if kind != "zip":
        yield Input(name, fmt or kind, stream, position)
    elif depth >= MAX_ZIP_DEPTH:
        yield Input(name, None, stream, position, "a ZIP nested too deep to open")
    elif depth == 0:
        yield from _members(name, raw, fmt, position, depth)
    else:  # a ZIP inside a ZIP: ZipFile seeks, so the member is copied first
        with tempfile.SpooledTemporaryFile(max_size=SPOOL) as copy:
            try:
                shutil.copyfileobj(stream, copy)  # capped: see _members
            except HistoryFormatError as exc:
                why = f"a ZIP inside a ZIP that {exc}"
                yield Input(name, None, io.BytesIO(), position, why)
                return
            copy.seek(0)
            yield from _members(name, copy, fmt, position, depth)  # type: ignore[arg-type]


def _members(
    name: str, raw: BinaryIO, fmt: str | None, position: Callable[[], int], depth: int
) -> Iterator[Input]:
    try:
        archive = zipfile.ZipFile(raw)
    except zipfile.BadZipFile as exc:
        msg = f"{name}: a damaged ZIP archive ({exc})"
        raise HistoryFormatError(msg) from None
    with archive:
        for member in archive.infolist():
            if member.is_dir() or member.filename.split("/")[-1].startswith("."):
                continue
            inner = f"{name}/{member.filename}"
            try:
                opened = archive.open(member)
            except (RuntimeError, NotImplementedError, zipfile.BadZipFile) as exc:
                # encrypted, an unsupported compression, a damaged entry
                yield Input(inner, None, io.BytesIO(), position, str(exc))
                continue
            with opened:
                capped = capped_stream(opened, MAX_MEMBER_BYTES)
                yield from _opened(inner, capped, fmt, position, depth + 1)


def validate(record: Record, device_id: str) -> GpsFix | Problem:
    """Return the contract event of a candidate, or the problem that stops it.

    The event id derives from device, time, source and position with the ingest
    API's function, so importing the same file twice, or a point the app already
    posted live, lands once downstream, while two fixes of one second at two
    places land twice.
    """
    if isinstance(record, Problem):
        return record
    fields = {**record.fields, "device_id": device_id}
    # The id from the fields as read, as the ingest API derives it for apps'
    # points; fields that cannot give one fail validation, which names them.
    with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
        fields["event_id"] = derived_event_id(
            device_id,
            fields["recorded_at"],
            fields.get("source") or "",
            latitude=fields["latitude"],
            longitude=fields["longitude"],
        )
    try:
        return GpsFix.model_validate(fields)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}"
            for e in exc.errors()
        )
        return Problem(record.where, reasons)


def events(item: Input, device_id: str) -> Iterator[GpsFix | Problem]:
    """Yield validated events and problems of one input."""
    if item.fmt is None:
        return
    try:
        for record in FORMATS[item.fmt](item.stream):
            yield validate(record, device_id)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        msg = f"the file cannot be read to its end ({exc})"
        raise HistoryFormatError(msg) from None


@dataclass
class ImportSummary:
    """What the import of one file did."""

    name: str
    fmt: str | None
    acknowledged: int = 0
    rejected: int = 0
    failed: int = 0
    error: str | None = None  # why the rest of the file could not be read
    reasons: Counter[str] = field(default_factory=Counter)
    first_where: dict[str, str] = field(default_factory=dict)
    offsets: dict[int, tuple[int, int]] = field(default_factory=dict)

    def reject(self, problem: Problem) -> None:
        """Count a skipped record under its reason."""
        self.rejected += 1
        self.reasons[problem.reason] += 1
        self.first_where.setdefault(problem.reason, problem.where)

    def delivered(self, err: object, msg: object) -> None:
        """Count a Kafka delivery report (and where the message went)."""
        if err is not None:
            self.failed += 1
            return
        self.acknowledged += 1
        partition, offset = msg.partition(), msg.offset()  # type: ignore[attr-defined]
        low, high = self.offsets.get(partition, (offset, offset + 1))
        self.offsets[partition] = (min(low, offset), max(high, offset + 1))
