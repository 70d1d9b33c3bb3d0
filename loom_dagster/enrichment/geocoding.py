"""Offline reverse geocoding: the nearest GeoNames place (population > 1000).

``reverse_geocoder`` ships the GeoNames cities table inside its wheel and answers
from a k-d tree in memory: nothing goes online. Loading the tree takes a second or
two, so it is built once per process.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from typing import Any

GEOCODER = f"reverse_geocoder {version('reverse_geocoder')} (GeoNames cities1000)"


@dataclass(frozen=True)
class Place:
    """A named place near a coordinate."""

    name: str
    admin: str
    country: str


@cache
def _geocoder() -> Any:
    import reverse_geocoder  # noqa: PLC0415 - a second of loading, only when used

    # It prints "Loading formatted geocoded file..." on stdout while building.
    with contextlib.redirect_stdout(io.StringIO()):
        return reverse_geocoder.RGeocoder(mode=1, verbose=False)


def nearest_places(coordinates: Sequence[tuple[float, float]]) -> list[Place]:
    """Return the nearest place of each ``(lat, lon)``, in order."""
    if not coordinates:
        return []
    results = _geocoder().query([(float(a), float(b)) for a, b in coordinates])
    return [Place(r["name"], r["admin1"], r["cc"]) for r in results]
