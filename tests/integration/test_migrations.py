"""Migrations apply once, in order, and refuse a file changed after it was applied."""

import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from loom_core import migrations


@pytest.fixture
def scratch_db(settings):
    """A throwaway database on the stack's server, dropped afterwards."""
    name = f"test_migrations_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(settings.database_url)._replace(path=f"/{name}"))
    yield url
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def write(directory, name, sql):
    (directory / name).write_text(sql)


def test_apply_runs_pending_migrations_once_in_order(scratch_db, tmp_path):
    write(tmp_path, "0002_more.sql", "INSERT INTO t VALUES (2);")
    write(
        tmp_path, "0001_first.sql", "CREATE TABLE t (n int); INSERT INTO t VALUES (1);"
    )
    applied = migrations.apply(scratch_db, tmp_path)
    assert [m.version for m in applied] == ["0001", "0002"]
    assert migrations.apply(scratch_db, tmp_path) == []
    with psycopg.connect(scratch_db) as conn:
        assert conn.execute("SELECT n FROM t ORDER BY n").fetchall() == [(1,), (2,)]
        versions = conn.execute("SELECT version FROM schema_migrations ORDER BY 1")
        assert versions.fetchall() == [("0001",), ("0002",)]


def test_a_changed_migration_is_refused(scratch_db, tmp_path):
    write(tmp_path, "0001_first.sql", "CREATE TABLE t (n int);")
    migrations.apply(scratch_db, tmp_path)
    write(tmp_path, "0001_first.sql", "CREATE TABLE t (n bigint);")
    with pytest.raises(migrations.MigrationError, match="changed after it was applied"):
        migrations.apply(scratch_db, tmp_path)


def test_a_failing_migration_rolls_back_and_names_the_file(scratch_db, tmp_path):
    write(tmp_path, "0001_first.sql", "CREATE TABLE t (n int);")
    write(tmp_path, "0002_broken.sql", "INSERT INTO t VALUES (1); SELEC 1;")
    with pytest.raises(migrations.MigrationError, match=r"0002_broken\.sql failed"):
        migrations.apply(scratch_db, tmp_path)
    with psycopg.connect(scratch_db) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
        assert conn.execute("SELECT version FROM schema_migrations").fetchall() == [
            ("0001",)
        ]


def test_badly_named_files_are_rejected(tmp_path):
    write(tmp_path, "1_First.sql", "")
    with pytest.raises(migrations.MigrationError, match=r"NNNN_lower_snake\.sql"):
        migrations.discover(tmp_path)
    (tmp_path / "1_First.sql").unlink()
    write(tmp_path, "0001_a.sql", "")
    write(tmp_path, "0001_b.sql", "")
    with pytest.raises(migrations.MigrationError, match="share a version"):
        migrations.discover(tmp_path)


def test_the_project_migrations_are_applied_on_the_stack(settings):
    with psycopg.connect(settings.database_url) as conn:
        applied = {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}
    assert {m.version for m in migrations.discover()} <= applied


def test_no_hypertable_keeps_an_index_its_primary_key_makes_redundant(settings):
    # An index whose columns lead the primary key's is only extra work per insert.
    with psycopg.connect(settings.database_url) as conn:
        indexes = conn.execute(
            "SELECT h.hypertable_name, i.indisprimary, i.indkey::int2[]"
            " FROM timescaledb_information.hypertables h"
            " JOIN pg_index i ON i.indrelid = format('%I.%I', h.hypertable_schema,"
            " h.hypertable_name)::regclass"
        ).fetchall()
    primary = {table: key for table, is_primary, key in indexes if is_primary}
    assert len(primary) >= 11  # the raw and enriched tables
    redundant = [
        table
        for table, is_primary, key in indexes
        if not is_primary and table in primary and primary[table][: len(key)] == key
    ]
    assert redundant == []
