"""A PNG map of a device-day: the track, its moves and its labelled stays.

Drawn offline with Matplotlib (no tile server): an equirectangular plot scaled by
the cosine of the latitude, so distances look right at city scale. Used by the
``gps_tracks`` asset's materialisation metadata and by ``loom map DEVICE DATE``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from loom_dagster.enrichment.geodesy import distance_m
from loom_dagster.enrichment.stays import STAY_RADIUS_M, Segment, Track

MOVE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def _hhmm(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%H:%M")


def draw_track_map(
    track: Track,
    segments: Sequence[Segment],
    places: Sequence[str | None],
    title: str,
    *,
    size_in: float = 6.0,
    dpi: int = 90,
) -> bytes:
    """Return a PNG of the day's track with its stays labelled.

    Parameters
    ----------
    track
        The cleaned fixes of the day.
    segments
        Its stays and moves (:func:`loom_dagster.enrichment.stays.segment`).
    places
        The place name of each segment, same order (``None`` when unknown).
    title
        Drawn above the map, e.g. ``"phone-1 - 2024-05-06 (UTC)"``.
    size_in, dpi
        Figure size in inches and resolution.
    """
    from matplotlib.figure import Figure  # noqa: PLC0415 - heavy, only when drawing

    fig = Figure(figsize=(size_in, size_in), dpi=dpi)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    if len(track) == 0:
        ax.text(0.5, 0.5, "no fixes", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        ax.plot(track.lon, track.lat, color="#bbbbbb", linewidth=0.8, zorder=1)
        moves = [s for s in segments if s.kind == "move"]
        for k, move in enumerate(moves):
            path = slice(move.first, move.last + 1)
            ax.plot(
                track.lon[path],
                track.lat[path],
                color=MOVE_COLOURS[k % len(MOVE_COLOURS)],
                linewidth=2,
                zorder=2,
                label=f"{_hhmm(move.start)}-{_hhmm(move.end)} "
                f"{move.distance_m / 1000:.1f} km, {move.mean_speed_mps * 3.6:.0f} km/h",
            )
        labels = _stay_labels(segments, places)
        for lat, lon in labels:
            ax.scatter([lon], [lat], s=120, color="black", zorder=3)
        for (lat, lon), label, (dx, dy) in _label_offsets(track, labels):
            ax.annotate(
                label,
                (lon, lat),
                xytext=(dx, dy),
                textcoords="offset points",
                ha="left" if dx > 0 else "right",
                va="center",
                fontsize=8,
                zorder=4,
                bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8},
                arrowprops={"arrowstyle": "-", "color": "#555555", "lw": 0.6},
            )
        ax.set_aspect(
            1 / np.cos(np.radians(float(np.mean(track.lat)))), adjustable="datalim"
        )
        ax.margins(0.15)
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        ax.tick_params(labelsize=7)
        if moves:
            ax.legend(loc="best", fontsize=7, title="moves", title_fontsize=7)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


LABEL_GAP_PT = 34  # vertical room for a label of two or three lines


def _label_offsets(
    track: Track, labels: dict[tuple[float, float], str]
) -> list[tuple[tuple[float, float], str, tuple[int, int]]]:
    """Place each label towards the map's middle, stacked when stays are close.

    A label goes right of a stay west of the middle and left of one east of it,
    so it stays inside the frame; labels on the same side whose stays are close
    (a tenth of the map's height) are pushed apart vertically.
    """
    mid_lon = (float(np.min(track.lon)) + float(np.max(track.lon))) / 2
    height = max(float(np.ptp(track.lat)), 1e-6)
    placed: list[tuple[tuple[float, float], str, tuple[int, int]]] = []
    for spot in sorted(labels, key=lambda s: -s[0]):  # north first
        dx = 10 if spot[1] <= mid_lon else -10
        dy = 0
        for (lat, _lon), _label, (other_dx, other_dy) in placed:
            if other_dx == dx and abs(lat - spot[0]) < height / 10:
                dy = min(dy, other_dy - LABEL_GAP_PT)
        placed.append((spot, labels[spot], (dx, dy)))
    return placed


def _stay_labels(
    segments: Sequence[Segment], places: Sequence[str | None]
) -> dict[tuple[float, float], str]:
    """Label each stay location once, with every visit's times (home is left twice)."""
    labels: dict[tuple[float, float], list[str]] = {}
    for stay, place in zip(segments, places):
        if stay.kind != "stay":
            continue
        spot = next(
            (
                key
                for key in labels
                if distance_m(key[0], key[1], stay.centroid_lat, stay.centroid_lon)
                <= STAY_RADIUS_M
            ),
            (stay.centroid_lat, stay.centroid_lon),
        )
        lines = labels.setdefault(spot, [place or "stay"])
        lines.append(f"{_hhmm(stay.start)}-{_hhmm(stay.end)}")
    return {spot: "\n".join(lines) for spot, lines in labels.items()}
