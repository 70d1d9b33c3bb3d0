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

from ingest_api.history import HistoryFormatError

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


class _Capped(io.RawIOBase):
    """``stream``, refusing to give more than ``limit`` bytes."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._left = limit
        self._limit = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(min(len(buffer), self._left + 1))
        if len(data) > self._left:
            msg = f"unpacks to more than {self._limit} bytes (a ZIP bomb?)"
            raise HistoryFormatError(msg)
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def capped_stream(stream: BinaryIO, limit: int) -> BinaryIO:
    """Return ``stream`` buffered, raising :class:`HistoryFormatError` past ``limit``."""
    return io.BufferedReader(_Capped(stream, limit), buffer_size=HEAD)


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


MAX_DEPTH = 64  # JSON nesting a history file may have (Takeout's: about 8)
_STARTS = {"start_map": "map", "start_array": "array"}
_ENDS = {"end_map", "end_array"}


def json_items(
    stream: BinaryIO, prefixes: Collection[str]
) -> Iterator[tuple[str, Any]]:
    """Yield ``(prefix, item)`` for every JSON value found at one of ``prefixes``.

    Prefixes are ``ijson``'s, at most two levels deep (``"locations.item"``: each
    element of the top-level ``locations`` array; ``"item"``: each element of a
    top-level array). Numbers are floats; one item is in memory at a time.
    Nesting deeper than ``MAX_DEPTH`` is refused: ``ijson``'s own ``items()``
    would need memory quadratic in the depth.

    Raises
    ------
    HistoryFormatError
        If the JSON is malformed or nested too deep.
    """
    events = ijson.basic_parse(stream, use_float=True)
    open_: list[tuple[str, str]] = []  # (kind, name) of each open container
    key = ""
    try:
        for event, value in events:
            if event == "map_key":
                key = value
                continue
            if event in _ENDS:
                open_.pop()
                continue
            slot = "" if not open_ else key if open_[-1][0] == "map" else "item"
            if 0 < len(open_) <= 2:
                where = ".".join([name for _, name in open_[1:]] + [slot])
                if where in prefixes:
                    yield where, _build(event, value, events, len(open_))
                    continue
            if event in _STARTS:
                open_.append((_STARTS[event], slot))
                if len(open_) > MAX_DEPTH:
                    raise HistoryFormatError(_TOO_DEEP)
    except ijson.JSONError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        msg = f"not valid JSON ({first_line or type(exc).__name__})"
        raise HistoryFormatError(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"not UTF-8 text ({exc.reason})"
        raise HistoryFormatError(msg) from None


_TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels"


def _build(
    event: str, value: Any, events: Iterator[tuple[str, Any]], depth: int
) -> Any:
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    if event not in _STARTS:
        return builder.value
    nested = 1
    for inner, inner_value in events:
        builder.event(inner, inner_value)
        if inner in _STARTS:
            nested += 1
            if depth + nested > MAX_DEPTH:
                raise HistoryFormatError(_TOO_DEEP)
        elif inner in _ENDS:
            nested -= 1
            if nested == 0:
                break
    return builder.value


def json_shape(  # noqa: C901 - one walk over the head's events
    head: bytes, keys: int = 200
) -> tuple[str, list[str], dict[str, list[str]]]:
    """Return what the start of a JSON document shows, for telling formats apart.

    Returns the top-level type (``"map"``, ``"array"`` or ``""``), its keys seen so
    far, and for each top-level key (``"item"`` for a top-level array) the keys of
    its first object elements or of the object itself.
    """
    top, top_keys, inner = "", [], {}
    open_: list[str] = []  # the slot name of each open container
    slot = ""
    try:
        for event, value in ijson.basic_parse(io.BytesIO(head.removeprefix(BOM))):
            if event in _STARTS:
                top = top or _STARTS[event]
                name = slot if open_ else ""
                if len(open_) == 1 and top == "array":
                    name = "item"
                open_.append(name)
                if len(open_) > 3:
                    break
            elif event in _ENDS:
                open_.pop()
            elif event == "map_key":
                slot = value
                if len(open_) == 1:
                    top_keys.append(value)
                elif 1 < len(open_) <= 3:
                    owner = open_[1]
                    if len(inner.setdefault(owner, [])) < keys:
                        inner[owner].append(value)
    except (ijson.JSONError, UnicodeDecodeError):
        pass  # the head ends mid-document, or is not JSON at all
    return top, top_keys, inner
