"""Streaming readers the importers share: bytes, hardened XML, incremental JSON.

Nothing here holds a whole file: XML elements are dropped once an importer has
read them and JSON is parsed by ``ijson`` item by item, so memory stays flat on a
multi-gigabyte export.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterator
from typing import Any, BinaryIO

import defusedxml.ElementTree as SafeET
import ijson
from defusedxml import DefusedXmlException

from loom_cli.history import HistoryFormatError

BOM = b"\xef\xbb\xbf"
HEAD = 64 * 1024  # what sniffing looks at


class _Prefixed(io.RawIOBase):
    """``head`` (bytes already read) followed by the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def prefixed(head: bytes, stream: BinaryIO) -> BinaryIO:
    """Return a buffered stream that reads ``head`` and then the rest of ``stream``."""
    return io.BufferedReader(_Prefixed(head, stream), buffer_size=HEAD)


def local(tag: str) -> str:
    """Return an XML tag without its namespace (``{ns}trkpt`` -> ``trkpt``)."""
    return tag.rpartition("}")[2]


def xml_elements(
    stream: BinaryIO, root: str, tags: Collection[str]
) -> Iterator[tuple[ET.Element, ET.Element]]:
    """Yield ``(root, element)`` for each element whose local name is in ``tags``.

    Each element is complete when yielded and dropped afterwards (the root keeps
    its attributes).

    The document must have the root element ``root``; a byte order mark or white
    space before the XML declaration (as some exporters write) is skipped. Parsing
    goes through ``defusedxml``: entity expansion and external references are
    refused.

    Raises
    ------
    HistoryFormatError
        If the XML is not well formed, not a ``root`` document, or hostile.
    """
    head = stream.read(HEAD)
    head = head.removeprefix(BOM).lstrip()
    source = prefixed(head, stream)
    stack: list[ET.Element] = []
    try:
        for event, element in SafeET.iterparse(source, events=("start", "end")):
            if event == "start":
                if not stack and local(element.tag) != root:
                    msg = f"the root element is <{local(element.tag)}>, not <{root}>"
                    raise HistoryFormatError(msg)
                stack.append(element)
                continue
            stack.pop()
            if local(element.tag) in tags:
                yield stack[0] if stack else element, element
                if stack:
                    stack[-1].remove(element)
    except ET.ParseError as exc:
        msg = f"not well-formed XML ({exc})"
        raise HistoryFormatError(msg) from None
    except DefusedXmlException as exc:
        msg = f"refused: the XML declares entities or external references ({exc})"
        raise HistoryFormatError(msg) from None


def child_text(element: ET.Element, name: str) -> str | None:
    """Return the text of the first descendant with local name ``name``."""
    for child in element.iter():
        if child is not element and local(child.tag) == name:
            return (child.text or "").strip()
    return None


def json_items(
    stream: BinaryIO, prefixes: Collection[str]
) -> Iterator[tuple[str, Any]]:
    """Yield ``(prefix, item)`` for every JSON value found at one of ``prefixes``.

    Prefixes are ``ijson``'s (``"locations.item"``: each element of the top-level
    ``locations`` array; ``"item"``: each element of a top-level array). Numbers
    are floats; one item is in memory at a time.

    Raises
    ------
    HistoryFormatError
        If the JSON is malformed; the message says near which byte.
    """
    try:
        if len(prefixes) == 1:  # ijson's C items(): four times faster
            (prefix,) = prefixes
            for item in ijson.items(stream, prefix, use_float=True):
                yield prefix, item
            return
        events = ijson.parse(stream, use_float=True)
        for prefix, event, value in events:
            if prefix not in prefixes:
                continue
            if event in {"start_map", "start_array"}:
                yield prefix, _build(event, value, events)
            elif event not in {"end_map", "end_array", "map_key"}:
                yield prefix, value
    except ijson.JSONError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        msg = f"not valid JSON ({first_line or type(exc).__name__})"
        raise HistoryFormatError(msg) from None


def _build(event: str, value: Any, events: Iterator[tuple[str, str, Any]]) -> Any:
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for _, inner, inner_value in events:
        builder.event(inner, inner_value)
        if inner in {"start_map", "start_array"}:
            depth += 1
        elif inner in {"end_map", "end_array"}:
            depth -= 1
            if depth == 0:
                break
    return builder.value


def json_shape(
    head: bytes, keys: int = 200
) -> tuple[str, list[str], dict[str, list[str]]]:
    """Return what the start of a JSON document shows, for telling formats apart.

    Returns the top-level type (``"map"``, ``"array"`` or ``""``), its keys seen so
    far, and for each top-level key (``"item"`` for a top-level array) the keys of
    its first object element or of the object itself.
    """
    top, top_keys, inner = "", [], {}
    events = ijson.parse(io.BytesIO(head.removeprefix(BOM)))
    try:
        for count, (prefix, event, value) in enumerate(events):
            if count > keys * 20:
                break
            if not prefix and event in {"start_map", "start_array"} and not top:
                top = event.removeprefix("start_")
            elif not prefix and event == "map_key":
                top_keys.append(value)
            elif event == "map_key":
                parts = prefix.split(".")
                owner = parts[0]
                if parts[1:] in ([], ["item"]) and len(inner.get(owner, [])) < keys:
                    inner.setdefault(owner, []).append(value)
    except ijson.JSONError:
        pass  # the head ends mid-document, or is not JSON at all
    return top, top_keys, inner
