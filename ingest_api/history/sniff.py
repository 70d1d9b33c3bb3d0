"""Tell a history file's format from its first bytes, as Dawarich-style apps do."""

from __future__ import annotations

import re

from ingest_api.history import delimited, owntracks
from ingest_api.history.streams import BOM, json_shape

XML_ROOTS = {"gpx": "gpx", "kml": "kml", "TrainingCenterDatabase": "tcx"}
_XML_ROOT = re.compile(r"<(?![?!])(?:[\w.-]+:)?([\w.-]+)")
_XML_PREAMBLE = re.compile(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", re.DOTALL)


def sniff(head: bytes) -> str | None:  # noqa: PLR0911 - one answer per format
    """Return the format of a file starting with ``head``, or ``None``.

    ``"zip"`` for ZIP archives (KMZ, Takeout); otherwise a format name of
    :data:`ingest_api.history.load.FORMATS`.
    """
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head[8:12] == b".FIT":
        return "fit"
    text = head.removeprefix(BOM).decode("utf-8", errors="replace").lstrip()
    if text.startswith("<"):
        match = _XML_ROOT.search(_XML_PREAMBLE.sub("", text))
        return XML_ROOTS.get(match.group(1)) if match else None
    if text[:1] in {"{", "["}:
        return _json(head)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    if owntracks.is_rec(first_line):
        return "owntracks"
    if delimited.first_header(text) is not None:
        return "csv"
    return None


def _json(head: bytes) -> str | None:  # noqa: PLR0911 - one answer per shape
    top, keys, inner = json_shape(head)
    if "timelineObjects" in keys:
        return "google-semantic"
    if {"semanticSegments", "rawSignals"} & set(keys):
        return "google-timeline"
    if top == "array" and {"startTime", "endTime"} & set(inner.get("item", [])):
        return "google-timeline"
    if "locations" in keys:
        first = set(inner.get("locations", []))
        if {"geometry", "properties"} & first:
            return "overland"
        return "google-records"
    if "features" in keys:
        return "geojson"
    return None
