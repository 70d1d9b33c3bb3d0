"""`loom sql` against the real Trino: formats, errors, and every analytics file."""

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from loom_cli.analytics.cli import analytics_files
from loom_cli.main import cli
from loom_cli.stack.process import free_port


def run(*args, env=None):
    return CliRunner(env=env).invoke(cli, ["sql", *args])


@pytest.mark.parametrize("path", analytics_files(), ids=lambda p: p.stem)
def test_every_analytics_file_runs_with_its_defaults(path, devices, loom_sql):
    """Each file runs as shipped (defaults only, a device nobody uses)."""
    rows = loom_sql(str(path), device_id=devices())
    # completeness lists the device's empty days, freshness every raw topic
    expected = {"data_completeness": 2 * 7, "ingest_freshness": 8}.get(path.stem, 0)
    assert len(rows) == expected


def test_table_is_the_default_format(trino_catalogs):
    result = run("SELECT 1 AS n, 'a' AS letter, NULL AS nothing")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        " n | letter | nothing",
        "---+--------+---------",
        " 1 | a      | NULL",
        "(1 row)",
    ]


def test_csv_format_with_a_parameter(trino_catalogs):
    result = run(
        "SELECT :who AS who, x FROM UNNEST(ARRAY[1, 2]) AS t (x) ORDER BY x",
        "--param",
        'who=O\'Brien, "Jr"',
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.stdout))) == [
        ["who", "x"],
        ['O\'Brien, "Jr"', "1"],
        ['O\'Brien, "Jr"', "2"],
    ]


def test_a_parameter_cannot_inject_sql(trino_catalogs, loom_sql):
    rows = loom_sql("SELECT :v AS v", v="x' AS v, 'y")
    assert rows == [{"v": "x' AS v, 'y"}]


def test_syntax_error_names_the_file_line_and_column(tmp_path, trino_catalogs):
    path = tmp_path / "broken.sql"
    path.write_text(
        "-- @param device_id varchar\n"
        "SELECT device_id\n"
        "FROM timescale.public.gps_data\n"
        "WHERE device_id = :device_id AND SELECT\n"
    )
    result = run(str(path), "--param", "device_id=a-rather-long-device-identifier")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert result.output.startswith(
        "Error: syntax error in broken.sql at line 4, column 34: "
    )
    assert "Traceback" not in result.output


def test_missing_table_names_the_table_and_position(trino_catalogs):
    result = run("SELECT *\nFROM timescale.public.no_such_table")
    assert result.exit_code == 1
    assert result.output == (
        "Error: table not found in query at line 2, column 6: "
        "Table 'timescale.public.no_such_table' does not exist\n"
    )


def test_unreachable_trino_says_how_to_start_it(trino_catalogs):
    url = f"http://127.0.0.1:{free_port()}"
    result = run("SELECT 1", env={"LOOM_TRINO_URL": url})
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot reach Trino at {url} (connection refused); start the local "
        "stack with `loom stack up` or point LOOM_TRINO_URL at a running Trino\n"
    )


def test_bad_parameter_values_are_refused_before_trino(trino_catalogs):
    result = run("daily_distance", "--param", "start_day=yesterday")
    assert result.exit_code == 1
    assert result.output == (
        "Error: daily_distance.sql: --param start_day='yesterday' is not a date; "
        "use YYYY-MM-DD\n"
    )
    result = run("daily_distance", "--param", "stat_day=2024-01-01")
    assert result.exit_code == 1
    assert (
        "unknown parameter stat_day; the query takes device_id, start_day, end_day"
        in (result.output)
    )


def test_the_console_script_runs_a_query_end_to_end(trino_catalogs):
    """Through the installed `loom` entry point, in a subprocess."""
    loom = str(Path(sys.executable).parent / "loom")
    query = (
        "SELECT count(*) AS tables FROM kafka.information_schema.tables"
        " WHERE table_schema = 'raw'"
    )
    done = subprocess.run(
        [loom, "sql", query, "-f", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == '[\n{"tables": 8}\n]\n'
