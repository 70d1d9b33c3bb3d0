"""Distances on the WGS84 sphere approximation."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


def haversine_m(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> NDArray[np.float64]:
    """Return great-circle distances in metres; arguments broadcast like NumPy's.

    Parameters
    ----------
    lat1, lon1, lat2, lon2
        Degrees.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance of two points in metres (scalar, fast in loops)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def path_length_m(lat: ArrayLike, lon: ArrayLike, min_step_m: float = 0.0) -> float:
    """Return the length of the polyline through the points, in metres.

    Parameters
    ----------
    lat, lon
        Degrees, in path order.
    min_step_m
        A point closer than this to the last point counted is skipped (the last
        point always counts), so GPS jitter does not add up to distance.
    """
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    if lat.size < 2:
        return 0.0
    if min_step_m <= 0:
        return float(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum())
    lats, lons = lat.tolist(), lon.tolist()
    total, anchor = 0.0, 0
    for k in range(1, len(lats)):
        step = distance_m(lats[anchor], lons[anchor], lats[k], lons[k])
        if step >= min_step_m or k == len(lats) - 1:
            total += step
            anchor = k
    return total
