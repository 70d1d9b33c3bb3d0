"""Stay-point detection: a device-day of GPS fixes as alternating stays and moves.

The thresholds, and why:

- ``MAX_ACCURACY_M`` (100 m): phones report fixes from cell towers with accuracy
  radii of several hundred metres; such fixes would invent moves, so they are dropped.
- ``MAX_SPEED_MPS`` (70 m/s, about 250 km/h): a fix that can only be reached and left
  faster than this, while its neighbours are consistent with each other, is a
  *spike* (multipath, a bad cold fix) and is rejected; so is a run of up to
  ``MAX_SPIKE_RUN`` (3) such fixes. Sustained high speed (a train,
  a plane) is consistent between neighbours and is kept.
- ``STAY_RADIUS_M`` (100 m) and ``STAY_MIN_DURATION_S`` (5 min): a stay is a run of
  fixes that all lie within 100 m of their running centroid for at least 5 minutes
  (the stay-point definition of Li et al., 2008, with a centroid anchor so that a
  jittery first fix does not cut a stay short). Urban jitter is 5-30 m; walking
  leaves a 100 m circle in about a minute.
- ``MIN_STEP_M`` (25 m): a move's distance counts a fix only once it is 25 m from
  the last fix counted, so jitter (about 3 sigma of urban noise) does not add up.
- Consecutive stays whose centroids are closer than ``STAY_RADIUS_M`` are one stay
  (a short excursion, or GPS drift indoors).

A stay's ``distance_m`` is 0: jitter while stationary is not distance travelled.
A move runs from the last fix of the stay before it to the first fix of the stay
after it (or the day's first/last fix), so moves and stays tile the day without
overlapping; ``point_count`` counts the fixes that belong to the segment alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from loom_dagster.enrichment.geodesy import distance_m, haversine_m, path_length_m

ALGORITHM = "stay-points-v1"
MAX_ACCURACY_M = 100.0
MAX_SPEED_MPS = 70.0
STAY_RADIUS_M = 100.0
STAY_MIN_DURATION_S = 300.0
MIN_STEP_M = 25.0
MAX_SPIKE_RUN = 3


@dataclass(frozen=True)
class Track:
    """Columnar GPS fixes of one device, sorted by time.

    Attributes
    ----------
    time
        Epoch seconds (UTC).
    lat, lon
        Degrees.
    accuracy_m
        Horizontal accuracy radius; NaN when the device did not report one.
    """

    time: NDArray[np.float64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    accuracy_m: NDArray[np.float64] = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.accuracy_m is None:
            object.__setattr__(self, "accuracy_m", np.full(self.time.shape, np.nan))

    @classmethod
    def from_rows(cls, rows: list[tuple[float, float, float, float | None]]) -> Track:
        """Build a track from ``(epoch_s, lat, lon, accuracy_m)`` rows, sorting them."""
        if not rows:
            empty = np.empty(0)
            return cls(empty, empty, empty, empty)
        data = np.array(
            [(t, la, lo, np.nan if acc is None else acc) for t, la, lo, acc in rows],
            dtype=float,
        )
        data = data[np.argsort(data[:, 0], kind="stable")]
        return cls(data[:, 0], data[:, 1], data[:, 2], data[:, 3])

    def __len__(self) -> int:
        return int(self.time.size)

    def take(self, keep: NDArray[np.bool_]) -> Track:
        """Return the fixes where ``keep`` is true."""
        return Track(
            self.time[keep], self.lat[keep], self.lon[keep], self.accuracy_m[keep]
        )


@dataclass(frozen=True)
class Rejections:
    """How many fixes cleaning dropped, by reason."""

    inaccurate: int = 0
    duplicate: int = 0
    outlier: int = 0

    @property
    def total(self) -> int:
        """All rejected fixes."""
        return self.inaccurate + self.duplicate + self.outlier


@dataclass(frozen=True)
class Segment:
    """A stay or a move of a cleaned track.

    ``first``/``last`` index the fixes of its path in the cleaned track (for a move,
    the boundary fixes of the neighbouring stays are part of the path).
    """

    kind: Literal["stay", "move"]
    first: int
    last: int
    start: float
    end: float
    point_count: int
    centroid_lat: float
    centroid_lon: float
    distance_m: float

    @property
    def duration_s(self) -> float:
        """Seconds from the first to the last fix of the path."""
        return self.end - self.start

    @property
    def mean_speed_mps(self) -> float:
        """Distance over duration; 0 for a stay or an instant."""
        return self.distance_m / self.duration_s if self.duration_s > 0 else 0.0


def _speeds(track: Track, a: NDArray[np.intp], b: NDArray[np.intp]) -> NDArray:
    dist = haversine_m(track.lat[a], track.lon[a], track.lat[b], track.lon[b])
    dt = track.time[b] - track.time[a]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dt > 0, dist / np.where(dt > 0, dt, 1), np.inf * (dist > 0))


def _spikes(track: Track, max_speed: float) -> NDArray[np.bool_]:
    """Mark runs of up to ``MAX_SPIKE_RUN`` fixes reached and left too fast.

    A run is a spike when getting into it and out of it both need more than
    ``max_speed`` while its neighbours are consistent with each other. At the
    edges of the day a single fix is judged by the two fixes beside it.
    """
    n = len(track)
    spike = np.zeros(n, dtype=bool)
    if n < 3:
        return spike
    for run in range(1, MAX_SPIKE_RUN + 1):
        if n < run + 2:
            break
        first = np.arange(1, n - run)
        before, last, after = first - 1, first + run - 1, first + run
        hit = (
            (_speeds(track, before, first) > max_speed)
            & (_speeds(track, last, after) > max_speed)
            & (_speeds(track, before, after) <= max_speed)
        )
        for offset in range(run):
            spike[first[hit] + offset] = True
    idx = np.arange(n)
    head = _speeds(track, idx[:2], idx[1:3])
    spike[0] |= bool(head[0] > max_speed and head[1] <= max_speed)
    tail = _speeds(track, idx[-3:-1], idx[-2:])
    spike[-1] |= bool(tail[1] > max_speed and tail[0] <= max_speed)
    return spike


def clean(
    track: Track,
    max_accuracy_m: float = MAX_ACCURACY_M,
    max_speed_mps: float = MAX_SPEED_MPS,
) -> tuple[Track, Rejections]:
    """Drop inaccurate fixes, repeated timestamps and spikes.

    Parameters
    ----------
    track
        Fixes sorted by time.
    max_accuracy_m
        Fixes whose accuracy radius exceeds this are dropped (unknown is kept).
    max_speed_mps
        Speed above which an isolated jump is a spike.

    Returns
    -------
    tuple[Track, Rejections]
        The cleaned track and the counts of what was dropped.
    """
    accurate = ~(track.accuracy_m > max_accuracy_m)  # NaN compares False: kept
    track1 = track.take(accurate)
    unique = np.ones(len(track1), dtype=bool)
    unique[1:] = np.diff(track1.time) > 0
    track2 = track1.take(unique)
    spike = _spikes(track2, max_speed_mps)
    rejections = Rejections(
        inaccurate=int((~accurate).sum()),
        duplicate=int((~unique).sum()),
        outlier=int(spike.sum()),
    )
    return track2.take(~spike), rejections


def detect_stays(
    track: Track,
    radius_m: float = STAY_RADIUS_M,
    min_duration_s: float = STAY_MIN_DURATION_S,
) -> list[tuple[int, int]]:
    """Return the stays of a cleaned track as inclusive ``(first, last)`` indices."""
    n = len(track)
    lat, lon, time = track.lat.tolist(), track.lon.tolist(), track.time.tolist()
    stays: list[tuple[int, int]] = []
    i = 0
    while i < n:
        j, sum_lat, sum_lon = i, lat[i], lon[i]
        while j + 1 < n:
            c_lat, c_lon = sum_lat / (j - i + 1), sum_lon / (j - i + 1)
            if distance_m(c_lat, c_lon, lat[j + 1], lon[j + 1]) > radius_m:
                break
            j += 1
            sum_lat += lat[j]
            sum_lon += lon[j]
        if time[j] - time[i] >= min_duration_s:
            stays.append((i, j))
            i = j + 1
        else:
            i += 1
    return _merge_close(track, stays, radius_m)


def _centroid(track: Track, first: int, last: int) -> tuple[float, float]:
    return (
        float(track.lat[first : last + 1].mean()),
        float(track.lon[first : last + 1].mean()),
    )


def _merge_close(
    track: Track, stays: list[tuple[int, int]], radius_m: float
) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in stays:
        if merged:
            a = _centroid(track, *merged[-1])
            b = _centroid(track, first, last)
            if distance_m(a[0], a[1], b[0], b[1]) <= radius_m:
                merged[-1] = (merged[-1][0], last)
                continue
        merged.append((first, last))
    return merged


def _stay(track: Track, first: int, last: int) -> Segment:
    lat, lon = _centroid(track, first, last)
    return Segment(
        "stay",
        first,
        last,
        float(track.time[first]),
        float(track.time[last]),
        last - first + 1,
        lat,
        lon,
        0.0,
    )


def _move(track: Track, first: int, last: int, point_count: int) -> Segment:
    lat, lon = _centroid(track, first, last)
    path = slice(first, last + 1)
    return Segment(
        "move",
        first,
        last,
        float(track.time[first]),
        float(track.time[last]),
        point_count,
        lat,
        lon,
        path_length_m(track.lat[path], track.lon[path], MIN_STEP_M),
    )


def segment(track: Track) -> list[Segment]:
    """Split a cleaned track into alternating stays and moves, in time order.

    A track of fewer than two fixes has no segments.
    """
    n = len(track)
    if n < 2:
        return []
    stays = detect_stays(track)
    if not stays:
        return [_move(track, 0, n - 1, n)]
    segments: list[Segment] = []
    if stays[0][0] > 0:
        segments.append(_move(track, 0, stays[0][0], stays[0][0]))
    for k, (first, last) in enumerate(stays):
        segments.append(_stay(track, first, last))
        if k + 1 < len(stays):
            nxt = stays[k + 1][0]
            segments.append(_move(track, last, nxt, nxt - last - 1))
    if stays[-1][1] < n - 1:
        last = stays[-1][1]
        segments.append(_move(track, last, n - 1, n - 1 - last))
    return segments
