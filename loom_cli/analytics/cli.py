"""``loom sql FILE | QUERY``: run SQL through the stack's Trino and print the result."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from loom_cli.analytics import client, params, render
from loom_core.settings import REPO_ROOT, LoomSettings

ANALYTICS_DIR = REPO_ROOT / "sql" / "analytics"
FILE_LIKE = re.compile(r"[\w./-]+")


def analytics_files() -> list[Path]:
    """Return the analytics queries shipped under ``sql/analytics/``."""
    return sorted(ANALYTICS_DIR.glob("*.sql"))


def resolve(source: str) -> tuple[str, str]:
    """Return the SQL text of ``source`` and how to name it in messages.

    ``source`` is ``-`` (standard input), a path to a file, the name of a file under
    ``sql/analytics/`` (with or without ``.sql``), or the text of a statement.
    """
    if source == "-":
        return sys.stdin.read(), "stdin"
    try:
        if Path(source).is_file():
            return Path(source).read_text(), Path(source).name
    except OSError:  # a long query is not a valid path
        pass
    if FILE_LIKE.fullmatch(source):
        name = source if source.endswith(".sql") else f"{source}.sql"
        named = ANALYTICS_DIR / name
        if named.is_file():
            return named.read_text(), named.name
        known = ", ".join(p.stem for p in analytics_files()) or "none"
        msg = (
            f"no SQL file {source!r} (analytics queries: {known}); "
            "to run a statement, pass its text in quotes"
        )
        raise click.ClickException(msg)
    return source, "query"


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """Turn ``NAME=VALUE`` options into a dict, refusing repeats and bad shapes."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().lstrip(":")
        if not sep or not name:
            msg = f"--param takes NAME=VALUE, got {pair!r}"
            raise click.BadParameter(msg, param_hint="--param")
        if name in values:
            msg = f"--param {name} is given twice"
            raise click.BadParameter(msg, param_hint="--param")
        values[name] = value
    return values


def list_queries() -> None:
    """Print every analytics query with its summary and parameters."""
    for path in analytics_files():
        text = path.read_text()
        click.echo(f"{path.stem}: {params.summary(text)}")
        for param in params.declared_params(text).values():
            click.echo(f"    --param {param.usage()}")


@click.command("sql")
@click.argument("source", required=False, metavar="FILE|QUERY")
@click.option(
    "-p",
    "--param",
    "pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Value of a :NAME placeholder (repeatable); see --list for each file's.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(sorted(render.FORMATS)),
    default="table",
    show_default=True,
    help="table for people; csv or json for programs.",
)
@click.option("--catalog", default="timescale", show_default=True)
@click.option("--schema", default="public", show_default=True)
@click.option(
    "--list", "show_list", is_flag=True, help="List the analytics queries and exit."
)
def sql(
    *,
    source: str | None,
    pairs: tuple[str, ...],
    fmt: str,
    catalog: str,
    schema: str,
    show_list: bool,
) -> None:
    """Run SQL through Trino and print the result.

    FILE|QUERY is a query of sql/analytics/ by name (daily_distance), a path to a
    .sql file, `-` for standard input, or the text of one statement. Catalogs:
    `timescale` (TimescaleDB tables) and `kafka` (the live topics).

    \b
    Examples:
      loom sql --list
      loom sql daily_distance --param device_id=phone-1 --param start_day=2024-05-01
      loom sql "SELECT count(*) FROM gps_data" --format json
      loom sql "SELECT * FROM kafka.raw.gps_data LIMIT 5"
    """  # noqa: D301 - click's \b (a backspace) keeps the examples' line breaks
    if show_list:
        list_queries()
        return
    if source is None:
        msg = "give a FILE or QUERY (or --list)"
        raise click.UsageError(msg)
    text, where = resolve(source)
    try:
        bound = params.bind(text, parse_params(pairs))
    except params.ParamError as exc:
        msg = f"{where}: {exc}"
        raise click.ClickException(msg) from None
    settings = LoomSettings()
    conn = client.connect(settings, catalog, schema)
    try:
        result = client.execute(
            conn,
            bound,
            where,
            settings.trino_url,
            progress=client.Progress.for_stream(sys.stderr),
        )
    except client.SqlError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        conn.close()
    render.FORMATS[fmt](result, sys.stdout)
