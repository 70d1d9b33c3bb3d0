"""``loom demo``: the whole platform, end to end, on a sample day.

Brings the stack up, starts the ingest API and Dagster (or reuses them), registers
the demo device, replays the sample day through the HTTP API with a progress bar,
follows it through landing and enrichment, and prints the day from Trino. Ctrl-C,
SIGTERM or ``loom stack down`` (from another terminal) stops what it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import click
import psycopg
from confluent_kafka import KafkaException
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from loom_cli.analytics.client import SqlError
from loom_cli.demo import follow, platform, replay, summary
from loom_cli.demo.dagster_api import DagsterError, DagsterUI
from loom_cli.demo.device import DeviceError, ensure_device
from loom_cli.demo.sample_day import SAMPLES, generate
from loom_cli.errors import first_line
from loom_cli.stack import apps
from loom_core import migrations
from loom_core.settings import EXTERNAL_TIMEOUT_S, LoomSettings

ENRICHMENT_SENSORS = [f"{asset}_after_landing" for asset in follow.ENRICHED]
POLL_S = 2.0
QUEUE_PRIORITY = 5  # ahead of a backlog (0), behind landing runs (10)


class DemoError(Exception):
    """The demo cannot go on; the message is one line saying what to do."""


class Stopped(KeyboardInterrupt):
    """Ctrl-C, or SIGTERM (``loom stack down`` from another terminal)."""


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise Stopped


def _loom() -> str:
    """How to call ``loom`` in the hints (it may not be on PATH after `make demo`)."""
    if shutil.which("loom"):
        return "loom"
    script = Path(sys.executable).parent / "loom"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


class Demo:
    """One run of the demo; each method is a step, in order."""

    def __init__(self, settings: LoomSettings, device_id: str, sample: str) -> None:
        self.settings = settings
        self.device_id = device_id
        self.sample = sample
        # wide enough for the progress columns when written to a log
        width = None if sys.stderr.isatty() else 120
        self.err = Console(stderr=True, highlight=False, width=width)
        self.out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
        self.platform: platform.Platform | None = None
        self.partition: follow.DeviceDay | None = None
        self.cleanup = contextlib.ExitStack()

    def step(self, text: str) -> None:
        """Announce a step."""
        self.err.print(f"[bold]==> {text}[/bold]")

    def note(self, text: str) -> None:
        """Print a detail of a step."""
        self.err.print(f"    {text}")

    def bring_up(self, host: str, api_port: int, ui_port: int) -> None:
        """Start the stack, migrate, start (or reuse) the API and Dagster."""
        self.step("The local stack: Kafka, PostgreSQL + TimescaleDB, Redis, Trino")
        started = platform.ensure_stack(self.settings, self.note)
        self.note(f"started {', '.join(started)}" if started else "already up")
        applied = migrations.apply(self.settings.database_url)
        self.note(f"database migrated ({len(applied)} migration(s) applied now)")
        self.step("The ingest API and Dagster (code server, webserver and daemon)")
        with self.err.status("starting them (Dagster loads its definitions first)"):
            self.platform = platform.start(self.settings, host, api_port, ui_port)
        if self.platform.started_here:
            # `loom stack down` from another terminal stops this process first
            self.cleanup.enter_context(apps.supervising(self.settings))
            self.note(f"started; their logs are in {self.settings.home / 'logs'}")
        else:
            self.note("already running (`loom serve` or another `loom demo`)")
        with self.err.status("waiting for the ingest API to be ready"):
            platform.wait_until(
                self.platform, platform.api_ready(self.platform.api_url), "the API"
            )
        self.note(f"ingest API ready at {self.platform.api_url}")
        ui = DagsterUI(self.platform.ui_url)
        landing = [f"{table}_sensor" for table in replay.TABLES]
        with self.err.status(
            "waiting for Dagster to load the code location and tick its sensors"
        ):
            platform.wait_until(
                self.platform,
                platform.sensors_ready(ui, landing, ENRICHMENT_SENSORS),
                "Dagster",
            )
        ui.close()
        self.note(f"Dagster ready at {self.platform.ui_url}")

    def register(self) -> str:
        """Register the demo device once; return its key."""
        self.step(f"The demo device {self.device_id}")
        with psycopg.connect(
            self.settings.database_url,
            autocommit=True,
            connect_timeout=EXTERNAL_TIMEOUT_S,
        ) as conn:
            key, new = ensure_device(
                conn, self.settings.home, self.device_id, "Loom demo phone"
            )
        self.note(
            "registered; its key is kept in "
            f"{self.settings.home / 'demo' / (self.device_id + '.key')}"
            if new
            else "registered before; reusing its key"
        )
        return key

    def replay(self, key: str) -> follow.Goal:
        """Generate the sample and post it; return what to wait for."""
        assert self.platform is not None  # noqa: S101 - bring_up ran
        self.step(f"Replaying the {self.sample} sample through the HTTP API")
        with self.err.status("synthesising speech and drawing the frames"):
            day = generate(self.sample)
        self.partition = follow.DeviceDay(self.device_id, day.day)
        target = replay.Target(self.platform.api_url, self.device_id, key)
        topics = [replay.TOPICS[t] for t in replay.TABLES]
        before = follow.end_offsets(self.settings.kafka_bootstrap, topics)
        with self._progress() as progress:
            tasks = {
                name: progress.add_task(
                    name, total=total, note=replay.CHANNELS[name][1]
                )
                for name, total in replay.channel_totals(day).items()
            }
            done = asyncio.run(
                replay.replay(
                    day, target, lambda name, n: progress.advance(tasks[name], n)
                )
            )
        after = follow.end_offsets(self.settings.kafka_bootstrap, topics)
        posted = ", ".join(f"{n} {t}" for t, n in done.events.items())
        self.note(f"acknowledged by Kafka: {posted}")
        return follow.Goal(
            self.partition, done.events, replay.TOPICS, follow.spans(before, after)
        )

    def _progress(self) -> Progress:
        return Progress(
            SpinnerColumn(finished_text="[green]✓[/green]"),
            TextColumn("{task.description:<48}"),
            BarColumn(bar_width=24),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=self.err,
        )

    def follow(self, goal: follow.Goal, since: float, stall_s: float) -> None:
        """Wait until the day is landed and enriched, showing progress."""
        assert self.platform is not None  # noqa: S101
        self.step("Landing and enrichment (Dagster sensors and runs)")
        ui = DagsterUI(self.platform.ui_url)
        reported: set[str] = set()
        last, changed = None, time.monotonic()
        with (
            psycopg.connect(
                self.settings.database_url,
                autocommit=True,
                connect_timeout=EXTERNAL_TIMEOUT_S,
            ) as conn,
            self._progress() as progress,
        ):
            bars = {
                t: progress.add_task(f"landing {t}", total=n, note="rows")
                for t, n in goal.expected.items()
            }
            bars |= {
                a: progress.add_task(f"enrichment {a}", total=None, note="")
                for a in follow.ENRICHED
            }
            while True:
                self.platform.check_alive()
                seen = follow.observe(conn, ui, goal, since)
                _show(progress, bars, goal, seen)
                for run in seen.failed_runs():
                    if run.run_id not in reported:
                        reported.add(run.run_id)
                        progress.console.print(
                            f"    [yellow]run {run.run_id[:8]} ({run.job}"
                            f"{', ' + run.partition if run.partition else ''}) failed;"
                            f" Dagster retries it: {ui.run_url(run.run_id)}[/yellow]",
                            soft_wrap=True,
                        )
                if seen.done:
                    break
                for run in seen.stuck_in_queue(goal.partition, time.time()):
                    jumped = ui.relaunch_first(run, QUEUE_PRIORITY, "loom demo")
                    progress.console.print(
                        f"    run {run.run_id[:8]} ({', '.join(run.assets)}) waits "
                        f"behind a backlog of queued runs; launched ahead of it as "
                        f"{ui.run_url(jumped)}",
                        soft_wrap=True,
                    )
                if seen.signature() != last:
                    last, changed = seen.signature(), time.monotonic()
                elif time.monotonic() - changed > stall_s:
                    raise DemoError(_stalled(seen, goal, ui, self.settings, stall_s))
                time.sleep(POLL_S)
        ui.close()
        for table, n in goal.expected.items():
            if seen.rows.get(table) != n:
                self.note(
                    f"[yellow]{table} holds {seen.rows.get(table)} rows of the "
                    f"device-day for {n} events posted (rows of an earlier sample, "
                    "or dead letters: see docs/landing.md)[/yellow]"
                )

    def summarise(self) -> None:
        """Print the day from Trino, then where to look next."""
        assert self.partition is not None  # noqa: S101
        assert self.platform is not None  # noqa: S101
        self.step(
            f"The day of {self.device_id}, {self.partition.day} (UTC), from Trino"
        )
        with self.err.status("querying Trino"):
            found = summary.collect(
                self.settings, self.partition.device_id, self.partition.day
            )
        summary.render(found, self.out)
        loom, device, day = _loom(), self.device_id, self.partition.day
        self.step("Where to look next")
        for label, where in (
            (
                "Dagster UI",
                f"{self.platform.ui_url}  (assets, runs; the day's map in gps_tracks)",
            ),
            ("API docs", f"{self.platform.api_url}/docs"),
            ("SQL", f"{loom} sql --list"),
            (
                "",
                f"{loom} sql daily_distance --param device_id={device} --param start_day={day}",
            ),
            ("Map", f"{loom} map {device} {day}"),
        ):
            self.note(f"{label:<11} {where}")

    def hold(self) -> None:
        """Keep the API and Dagster this demo started running until stopped."""
        assert self.platform is not None  # noqa: S101
        self.err.print(
            "\nLoom is running. Ctrl-C stops the ingest API and Dagster (the stack "
            "stays up for the next demo); `loom stack down` stops everything."
        )
        while True:
            self.platform.check_alive()
            time.sleep(0.5)


def _show(
    progress: Progress,
    bars: dict[str, int],
    goal: follow.Goal,
    seen: follow.Observation,
) -> None:
    for table, n in goal.expected.items():
        note = "rows, landed" if seen.landed.get(table) else "rows"
        progress.update(
            bars[table], completed=min(seen.rows.get(table, 0), n), note=note
        )
    active = {asset for r in seen.active_runs() for asset in r.assets}
    for asset in follow.ENRICHED:
        done = seen.landing_done and seen.enrichment_done(asset)
        if asset in follow.SOURCES:
            processed, total = seen.processed[asset]
            progress.update(bars[asset], total=total or None, completed=processed)
        else:
            progress.update(bars[asset], total=1, completed=1 if done else 0)
        state = "running" if any(asset in job for job in active) else ""
        rows = seen.enriched_rows.get(asset, 0)
        progress.update(
            bars[asset],
            note=f"{rows} rows" + (f", {state}" if state and not done else ""),
        )


def _stalled(
    seen: follow.Observation,
    goal: follow.Goal,
    ui: DagsterUI,
    settings: LoomSettings,
    stall_s: float,
) -> str:
    waiting = [t for t, ok in seen.landed.items() if not ok]
    waiting += [a for a in follow.ENRICHED if not seen.enrichment_done(a)]
    failed = [ui.run_url(r.run_id) for r in seen.failed_runs()]
    logs = settings.home / "logs" / "dagster-daemon.log"
    return (
        f"nothing moved for {stall_s / 60:.0f} min; still waiting for "
        f"{', '.join(waiting) or 'nothing'} of {goal.partition.key}"
        + (f"; failed runs: {' '.join(failed)}" if failed else "")
        + f"; see the runs in {ui.url}/runs and {logs}"
    )


@click.command()
@click.option(
    "--device",
    "device_id",
    default="demo-phone",
    show_default=True,
    help="Device id to replay the sample as (registered on first use).",
)
@click.option(
    "--sample",
    type=click.Choice(sorted(SAMPLES)),
    default="day",
    show_default=True,
    help="The whole day, or the short morning the end-to-end test replays.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--api-port", default=8000, show_default=True, type=int)
@click.option("--ui-port", default=3000, show_default=True, type=int)
@click.option(
    "--detach",
    is_flag=True,
    help="Leave the API and Dagster running after the summary "
    "(`loom stack down` stops them).",
)
@click.option(
    "--stall-minutes",
    default=10.0,
    show_default=True,
    help="Give up when landing and enrichment make no progress this long.",
)
def demo(
    *,
    device_id: str,
    sample: str,
    host: str,
    api_port: int,
    ui_port: int,
    detach: bool,
    stall_minutes: float,
) -> None:
    """Show the whole platform working on a sample day (what `make demo` runs).

    Starts the stack, the ingest API and Dagster; replays a day of GPS (as
    OwnTracks and Overland post it), heart rate, speech and camera frames through
    the HTTP API; waits for landing and enrichment; prints the day from Trino.
    A second run reuses everything and lands nothing twice.
    """
    settings = LoomSettings()
    run = Demo(settings, device_id, sample)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    code, finished = 0, False
    with run.cleanup:
        try:
            run.bring_up(host, api_port, ui_port)
            key = run.register()
            since = time.time() - 1
            goal = run.replay(key)
            run.follow(goal, since, stall_minutes * 60)
            run.summarise()
            finished = True
            if run.platform and run.platform.started_here and not detach:
                run.hold()
        except KeyboardInterrupt:
            run.err.print("\nloom demo: stopping")
            code = 0 if finished else 130
        except (
            DemoError,
            platform.PlatformError,
            DeviceError,
            replay.ReplayError,
            DagsterError,
            SqlError,
        ) as exc:
            run.err.print(f"[red]loom demo: {exc}[/red]")
            code = 1
        except (psycopg.OperationalError, KafkaException) as exc:
            run.err.print(
                f"[red]loom demo: lost the stack ({first_line(exc)}); `loom stack status` "
                "says which server is down[/red]"
            )
            code = 1
        finally:
            if not (detach and finished):
                _stop_platform(run)
    sys.exit(code)


def _stop_platform(run: Demo) -> None:
    if run.platform is None or not run.platform.started_here:
        return
    # a second Ctrl-C, or `loom stack down`, must not leave children behind
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with run.err.status("stopping the ingest API and Dagster"):
        run.platform.stop()
    run.err.print(
        "loom demo: the ingest API and Dagster are stopped; the stack keeps "
        "running (`loom stack down` stops it)"
    )
