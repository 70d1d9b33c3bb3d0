"""``loom map DEVICE DATE``: the day's track with its stays labelled, as a PNG.

Drawn offline (no tile server) by the code the ``gps_tracks`` asset uses for the
map in its materialisation (:mod:`loom_dagster.enrichment.day_track`), from the
fixes in ``gps_data``: the map is there as soon as the fixes have landed, before
or without the enrichment run.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from loom_cli.errors import fail, no_database


@click.command("map")
@click.argument("device_id")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the PNG (default: DEVICE_DATE.png here).",
)
def track_map(device_id: str, day: datetime, output: Path | None) -> None:
    """Draw DEVICE's track on DATE (a UTC day, YYYY-MM-DD) to a PNG.

    Stays are labelled with their place and times, moves coloured with their
    distance and speed: the picture the gps_tracks asset shows in the Dagster UI.
    """
    import psycopg  # noqa: PLC0415 - keep the CLI's start light

    from loom_core.settings import EXTERNAL_TIMEOUT_S, LoomSettings  # noqa: PLC0415
    from loom_dagster.enrichment.day_track import read_day  # noqa: PLC0415
    from loom_dagster.enrichment.store import DeviceDay  # noqa: PLC0415

    settings = LoomSettings()
    partition = DeviceDay(device_id, day.date())
    try:
        with psycopg.connect(
            settings.database_url, connect_timeout=EXTERNAL_TIMEOUT_S
        ) as conn:
            track = read_day(conn, partition)
    except psycopg.OperationalError as exc:
        fail("map", no_database(exc))
    if len(track.raw) == 0:
        fail(
            "map",
            f"no GPS fixes of {device_id} on {partition.day} (UTC); "
            "`loom devices list` shows the devices, and `loom sql data_completeness "
            f"--param device_id={device_id}` the days with data",
        )
    path = output or Path(f"{device_id}_{partition.day}.png")
    try:
        path.write_bytes(track.map_png())
    except OSError as exc:
        fail("map", f"cannot write {path} ({exc.strerror})")
    stays = [s for s in track.segments if s.kind == "stay"]
    km = sum(s.distance_m for s in track.segments) / 1000
    click.echo(
        f"{path}: {len(track.raw)} fixes, {len(stays)} stays, "
        f"{len(track.segments) - len(stays)} moves, {km:.1f} km"
    )
