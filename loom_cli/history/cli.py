"""``loom import PATH``: load location history through the contracts into Kafka."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from ingest_api.history import HistoryFormatError
from ingest_api.history.load import FORMATS, ImportSummary, inputs, total_bytes
from loom_cli.errors import fail, no_database
from loom_cli.history import export
from loom_cli.history.writer import Writer
from loom_core.settings import LoomSettings

SHOWN_REASONS = 10


@click.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--device", "device_id", required=True, help="Device the history belongs to."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    help="Read every file as this format; by default told from its bytes.",
)
def import_history(path: Path, device_id: str, fmt: str | None) -> None:
    """Import location history from a file, a ZIP (Takeout, KMZ) or a folder.

    Reads GPX, KML/KMZ, GeoJSON, CSV/TSV, TCX, FIT, Overland JSON, OwnTracks .rec,
    Google Takeout (Records.json, Semantic Location History) and Google's
    on-device Timeline export. Every record is validated like a live event and
    written to Kafka; records imported before, or posted live by the same app,
    land only once.
    """
    err = Console(stderr=True)
    settings = LoomSettings()
    summaries: list[ImportSummary] = []
    try:
        writer = Writer(settings.kafka_bootstrap)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task(f"importing {path.name}", total=total_bytes(path))
            for item in inputs(path, fmt):
                if item.fmt is None:
                    summaries.append(
                        ImportSummary(item.name, None, error=item.unreadable)
                    )
                    continue
                summaries.append(
                    writer.write(
                        item,
                        device_id,
                        lambda i=item: progress.update(task, completed=i.position()),
                    )
                )
    except HistoryFormatError as exc:
        err.print(f"[red]loom import: {exc}[/red]", highlight=False, soft_wrap=True)
        sys.exit(2)
    read = [s for s in summaries if s.fmt is not None]
    if not read:
        err.print(
            f"[red]loom import: cannot tell the format of {path.name} from its "
            f"content; pass --format {'|'.join(FORMATS)}[/red]",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    for summary in summaries:
        _report(summary, device_id)
    if any(s.failed for s in read):
        click.echo(
            "Kafka did not acknowledge every record; run the import again "
            "(it will not duplicate what landed)",
            err=True,
        )
        sys.exit(1)
    if any(s.error for s in read):
        sys.exit(2)


def _report(summary: ImportSummary, device_id: str) -> None:
    if summary.fmt is None:
        why = summary.error or "not a location history format"
        click.echo(f"{summary.name}: skipped, {why}")
        return
    click.echo(
        f"{summary.name} ({summary.fmt}) for {device_id}: {summary.acknowledged} "
        f"accepted and acknowledged by Kafka, {summary.rejected} rejected, "
        f"{summary.failed} failed"
    )
    for reason, count in summary.reasons.most_common(SHOWN_REASONS):
        click.echo(f"  rejected {count} ({summary.first_where[reason]}, ...): {reason}")
    hidden = len(summary.reasons) - SHOWN_REASONS
    if hidden > 0:
        click.echo(f"  ... and {hidden} more reasons")
    if summary.error:
        click.echo(
            f"  stopped: {summary.name}: {summary.error}"
            + (" (the records before it were imported)" if summary.acknowledged else "")
        )


@click.command("export")
@click.argument("device_id")
@click.option(
    "--from",
    "first",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="First UTC day (YYYY-MM-DD).",
)
@click.option(
    "--to",
    "last",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="Last UTC day, included (YYYY-MM-DD).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(export.FORMATS),
    default="gpx",
    show_default=True,
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write; standard output by default.",
)
def export_history(
    device_id: str, first: datetime, last: datetime, fmt: str, out: Path | None
) -> None:
    """Write a device's landed history as GPX, GeoJSON or CSV.

    The file imports back (``loom import``) to the same rows: for another device
    as a copy, for the same device as nothing new.
    """
    import psycopg  # noqa: PLC0415 - keep the CLI's start light

    if last < first:
        fail("export", "--to is before --from")
    database_url = LoomSettings().database_url
    fixes = export.landed(database_url, device_id, first.date(), last.date())
    try:
        found = (
            []
            if fmt == "csv"  # rows of fixes only
            else export.segments(database_url, device_id, first.date(), last.date())
        )
        if out is None:
            count, written = export.WRITERS[fmt](fixes, sys.stdout, found)
        else:
            partial = out.with_name(out.name + ".partial")
            try:
                with partial.open("w", encoding="utf-8", newline="") as stream:
                    count, written = export.WRITERS[fmt](fixes, stream, found)
            finally:
                if sys.exc_info()[0] is not None:
                    partial.unlink(missing_ok=True)
            partial.replace(out)
    except psycopg.OperationalError as exc:
        fail("export", no_database(exc))
    click.echo(
        f"exported {count} fixes and {written} stays/moves of {device_id} "
        f"({first.date()} to {last.date()})" + (f" to {out}" if out else ""),
        err=True,
    )
