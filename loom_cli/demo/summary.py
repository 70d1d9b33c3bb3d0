"""The day in a few lines, from Trino: the queries ``loom sql`` runs, and their output.

Four facts come from the analytics queries of ``sql/analytics`` (distance, speech,
caption terms) and three from ``sql/demo`` (places in order, heart rate, the first
utterances), all bound and run by ``loom sql``'s own code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from loom_cli.analytics import client, params
from loom_cli.analytics.cli import resolve
from loom_core.settings import REPO_ROOT, LoomSettings

DEMO_SQL = REPO_ROOT / "sql" / "demo"
TRANSCRIPT_LINES = 6
TOP_TERMS = 5

Rows = list[dict[str, Any]]


@dataclass
class DaySummary:
    """What the summary shows of one device-day."""

    device_id: str
    day: date
    distance: Rows = field(default_factory=list)
    places: Rows = field(default_factory=list)
    heart_rate: Rows = field(default_factory=list)
    speech: Rows = field(default_factory=list)
    transcript: Rows = field(default_factory=list)
    terms: Rows = field(default_factory=list)

    def speech_totals(self) -> tuple[float, int, int]:
        """Return the day's minutes of speech, utterances and words."""
        return (
            round(sum(float(r["speech_minutes"]) for r in self.speech), 2),
            sum(int(r["utterances"]) for r in self.speech),
            sum(int(r["words"]) for r in self.speech),
        )

    def top(self, kind: str) -> list[tuple[str, int]]:
        """Return the top caption tags (``tag``) or OCR terms (``ocr``)."""
        return [
            (r["term"], int(r["occurrences"])) for r in self.terms if r["kind"] == kind
        ]


def run_query(
    conn: Any, settings: LoomSettings, source: str, values: dict[str, str]
) -> Rows:
    """Run an analytics file (by name or path) with ``values``; return its rows."""
    text, where = resolve(source)
    bound = params.bind(text, values)
    result = client.execute(conn, bound, where, settings.trino_url)
    names = [c.name for c in result.columns]
    return [dict(zip(names, row)) for row in result.rows]


def collect(settings: LoomSettings, device_id: str, day: date) -> DaySummary:
    """Ask Trino about the day.

    Raises
    ------
    loom_cli.analytics.client.SqlError
        With a one-line reason when a query cannot run.
    """
    span = {"device_id": device_id, "start_day": str(day), "end_day": str(day)}
    one_day = {"device_id": device_id, "day": str(day)}
    conn = client.connect(settings)
    try:
        return DaySummary(
            device_id,
            day,
            distance=run_query(conn, settings, "daily_distance", span),
            places=run_query(conn, settings, str(DEMO_SQL / "day_places.sql"), one_day),
            heart_rate=run_query(
                conn, settings, str(DEMO_SQL / "day_heart_rate.sql"), one_day
            ),
            speech=run_query(conn, settings, "speech_hourly", span),
            transcript=run_query(
                conn,
                settings,
                str(DEMO_SQL / "day_transcript.sql"),
                one_day | {"lines": str(TRANSCRIPT_LINES)},
            ),
            terms=run_query(
                conn,
                settings,
                "caption_terms_daily",
                span | {"top_n": str(TOP_TERMS)},
            ),
        )
    finally:
        conn.close()


def _hhmm(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def _duration(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _terms(pairs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{t} ({n})" if n > 1 else t for t, n in pairs) or "none"


def render(summary: DaySummary, console: Console) -> None:
    """Print the summary as a small table of facts."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for row in summary.distance:
        table.add_row(
            "Distance",
            f"{float(row['distance_km']):.1f} km in {_duration(float(row['moving_minutes']))} "
            f"of moving ({row['moves']} moves, {row['stays']} stays)",
        )
    places = [
        f"{_hhmm(p['arrived'])}-{_hhmm(p['departed'])}  {p['place']}"
        f"{', ' + p['place_admin'] if p['place_admin'] else ''}"
        f"  ({_duration(float(p['minutes']))})"
        for p in summary.places
    ]
    table.add_row("Places", "\n".join(places) or "no stays")
    for row in summary.heart_rate:
        if row["readings"]:
            table.add_row(
                "Heart rate",
                f"{row['readings']} readings, {row['lowest_bpm']}-{row['highest_bpm']} "
                f"bpm, mean {row['mean_bpm']:.0f}",
            )
    minutes, utterances, words = summary.speech_totals()
    lines = [
        f"{minutes:.1f} min of speech, {utterances} utterances, {words} words",
        *(f"{t['time']:%H:%M:%S}  {t['text'].strip()}" for t in summary.transcript),
    ]
    table.add_row("Speech", "\n".join(lines))
    table.add_row("Camera tags", _terms(summary.top("tag")))
    table.add_row("Text seen", _terms(summary.top("ocr")))
    console.print(table)
