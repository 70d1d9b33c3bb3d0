"""``gps_tracks``: each device-day of ``gps_data`` as stays and moves, with places.

A day's segmentation depends on all its fixes, so every run (incremental or
backfill) re-segments the whole day: cheap, and trivially the same either way.
"""

import base64
from datetime import UTC, datetime

import dagster as dg

from loom_core import topics
from loom_core.contracts.ids import enriched_row_id
from loom_dagster.defs.enrichment import asset_framework
from loom_dagster.enrichment import geocoding, stays
from loom_dagster.enrichment.day_track import DayTrack, read_day
from loom_dagster.enrichment.messages import TrackSegment
from loom_dagster.resources import KafkaResource, TimescaleResource

ASSET = "gps_tracks"
ID = "segment_id"
MAX_PLAUSIBLE_SPEED_MPS = 340.0  # an airliner's cruise; anything faster is a bug

CHECKS = {
    "coordinates_in_range": "Every segment centroid is a valid WGS84 coordinate.",
    "speeds_plausible": f"No segment's mean speed exceeds {MAX_PLAUSIBLE_SPEED_MPS:g} m/s.",
    "segments_do_not_overlap": "The day's segments follow each other in time.",
}
CHECK_QUERIES = {
    "coordinates_in_range": """
        SELECT count(*) FROM gps_tracks WHERE device_id = %(device)s AND day = %(day)s
        AND NOT (centroid_lat BETWEEN -90 AND 90 AND centroid_lon BETWEEN -180 AND 180)
    """,
    "speeds_plausible": f"""
        SELECT count(*) FROM gps_tracks WHERE device_id = %(device)s AND day = %(day)s
        AND NOT (mean_speed_mps BETWEEN 0 AND {MAX_PLAUSIBLE_SPEED_MPS})
    """,  # noqa: S608 - a constant of this module, not input
    "segments_do_not_overlap": """
        SELECT count(*) FROM (
            SELECT end_time > lead(time) OVER (ORDER BY time) AS overlapping
            FROM gps_tracks WHERE device_id = %(device)s AND day = %(day)s
        ) s WHERE overlapping
    """,
}
TABLE = asset_framework.EnrichedTable(
    ASSET, ID, CHECK_QUERIES, topics.GPS_TRACK_SEGMENTS
)


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def segment_rows(day: DayTrack) -> list[TrackSegment]:
    """Return the table rows of a device-day's segments."""
    partition = day.partition
    return [
        TrackSegment(
            time=_utc(s.start),
            device_id=partition.device_id,
            day=partition.day,
            segment_id=enriched_row_id(
                ASSET,
                partition.device_id,
                partition.day,
                s.kind,
                _utc(s.start).isoformat(),
            ),
            kind=s.kind,
            end_time=_utc(s.end),
            duration_s=s.duration_s,
            point_count=s.point_count,
            centroid_lat=s.centroid_lat,
            centroid_lon=s.centroid_lon,
            distance_m=round(s.distance_m, 3),
            mean_speed_mps=round(s.mean_speed_mps, 4),
            place_name=p.name,
            place_admin=p.admin,
            place_country=p.country,
            algorithm=stays.ALGORITHM,
        )
        for s, p in zip(day.segments, day.places)
    ]


@asset_framework.enrichment_asset(
    TABLE,
    deps=["gps_data"],
    checks=CHECKS,
    algorithm=f"{stays.ALGORITHM}|{geocoding.GEOCODER}",
    pod=("500m", "1024Mi"),
    description=(
        "Stays and moves of each device-day (stay-point detection; jitter and "
        "outliers rejected) with the GeoNames town it lies in; republished to "
        f"{topics.GPS_TRACK_SEGMENTS}."
    ),
)
def gps_tracks(
    context: dg.AssetExecutionContext,
    timescale: TimescaleResource,
    kafka: KafkaResource,
) -> dg.MaterializeResult:
    """Segment the partition's fixes, store and republish the segments."""
    partition = asset_framework.device_day(context)
    with timescale.connect(autocommit=True) as conn:
        as_of = asset_framework.listed_at(conn)
        day = read_day(conn, partition)
        rows = segment_rows(day)
        written = asset_framework.commit_and_publish(
            context, conn, kafka, TABLE, partition=partition, rows=rows, as_of=as_of
        )
    png = day.map_png()  # what `loom map DEVICE DATE` draws too
    stays_ = [r for r in rows if r.kind == "stay"]
    return dg.MaterializeResult(
        metadata={
            "fixes": len(day.raw),
            "rejected_inaccurate": day.rejected.inaccurate,
            "rejected_duplicate": day.rejected.duplicate,
            "rejected_outliers": day.rejected.outlier,
            "segments": len(rows),
            "stays": len(stays_),
            "moves": len(rows) - len(stays_),
            "distance_km": round(sum(r.distance_m for r in rows) / 1000, 3),
            "places": ", ".join(dict.fromkeys(r.place_name or "?" for r in stays_)),
            "algorithm": stays.ALGORITHM,
            "geocoder": geocoding.GEOCODER,
            **written.metadata(),
            "deleted_segments": len(written.vanished),
            "map": dg.MetadataValue.md(
                f"![track map](data:image/png;base64,{base64.b64encode(png).decode()})"
            ),
        },
        check_results=written.checks,
        data_version=written.data_version,
    )
