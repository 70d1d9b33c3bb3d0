"""``loom import FILE``: load location history through the contracts into Kafka."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

from loom_cli.history import HistoryFormatError
from loom_cli.history.load import READERS, detect_format, events, write
from loom_core.settings import LoomSettings


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--device", "device_id", required=True, help="Device the history belongs to."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(READERS)),
    help="File format; by default told from the suffix (.gpx, .rec, .json).",
)
def import_history(path: Path, device_id: str, fmt: str | None) -> None:
    """Import GPX, OwnTracks .rec or Google Takeout location history.

    Every record is validated like a live event and written to Kafka; records that
    were imported before (or posted live by the same app) land only once.
    """
    err = Console(stderr=True)
    settings = LoomSettings()
    try:
        fmt = fmt or detect_format(path)
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} records"),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task(f"importing {path.name}", total=None)
            summary = write(
                events(path, fmt, device_id),
                settings.kafka_bootstrap,
                progress=lambda n: progress.advance(task, n),
            )
    except HistoryFormatError as exc:
        err.print(f"[red]loom import: {exc}[/red]", highlight=False)
        sys.exit(2)
    click.echo(
        f"{path.name} ({fmt}) for {device_id}: {summary.acknowledged} accepted and "
        f"acknowledged by Kafka, {summary.rejected} rejected, {summary.failed} failed"
    )
    for problem in summary.problems:
        click.echo(f"  rejected {problem.where}: {problem.reason}")
    if summary.rejected > len(summary.problems):
        click.echo(
            f"  ... and {summary.rejected - len(summary.problems)} more rejected"
        )
    if summary.failed:
        click.echo(
            "Kafka did not acknowledge every record; run the import again "
            "(it will not duplicate what landed)",
            err=True,
        )
        sys.exit(1)
