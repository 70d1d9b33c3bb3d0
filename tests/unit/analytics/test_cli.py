import click
import pytest
from click.testing import CliRunner

from loom_cli.analytics import cli as sql_cli
from loom_cli.main import cli


def test_resolve_reads_paths_names_stdin_and_query_text(tmp_path, monkeypatch):
    path = tmp_path / "mine.sql"
    path.write_text("SELECT 2")
    assert sql_cli.resolve(str(path)) == ("SELECT 2", "mine.sql")
    text, where = sql_cli.resolve("daily_distance")
    assert where == "daily_distance.sql"
    assert "FROM timescale.public.gps_tracks" in text
    assert sql_cli.resolve("daily_distance.sql")[1] == "daily_distance.sql"
    assert sql_cli.resolve("SELECT 1") == ("SELECT 1", "query")
    assert sql_cli.resolve("SELECT " + "x" * 5000)[1] == "query"  # too long for a path
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("SELECT 3"))
    assert sql_cli.resolve("-") == ("SELECT 3", "stdin")


def test_resolve_refuses_a_missing_file_with_the_known_names():
    with pytest.raises(click.ClickException) as info:
        sql_cli.resolve("dayly_distance")
    message = info.value.message
    assert message.startswith("no SQL file 'dayly_distance' (analytics queries: ")
    assert "daily_distance" in message
    assert message.endswith("to run a statement, pass its text in quotes")


def test_parse_params():
    assert sql_cli.parse_params(("a=1", ":b=x=y", "c=")) == {
        "a": "1",
        "b": "x=y",
        "c": "",
    }
    for bad in (("novalue",), ("=1",), ("a=1", "a=2")):
        with pytest.raises(click.BadParameter):
            sql_cli.parse_params(bad)


def test_list_shows_every_file_with_its_parameters():
    result = CliRunner().invoke(cli, ["sql", "--list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    names = [line.split(":")[0] for line in lines if not line.startswith(" ")]
    assert names == [p.stem for p in sql_cli.analytics_files()]
    assert len(names) == 6
    assert (
        "    --param device_id varchar (default null): the device; every device when null"
        in lines
    )


def test_errors_before_any_query_are_one_line():
    runner = CliRunner()
    result = runner.invoke(cli, ["sql"])
    assert result.exit_code == 2
    assert "give a FILE or QUERY (or --list)" in result.output
    result = runner.invoke(cli, ["sql", "SELECT :x"])
    assert result.exit_code == 1
    assert result.output == "Error: query: missing --param x=<varchar>\n"
    result = runner.invoke(cli, ["sql", "SELECT 1", "--param", "oops"])
    assert result.exit_code == 2
    assert "--param takes NAME=VALUE, got 'oops'" in result.output
