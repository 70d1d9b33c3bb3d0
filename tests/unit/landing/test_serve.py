import os
import signal
import sys
from urllib.parse import parse_qs, urlsplit

import click
import pytest
import yaml
from click.testing import CliRunner

from loom_cli import serve
from loom_core.settings import LoomSettings


def test_dagster_database_sits_beside_loom_unless_set(monkeypatch):
    monkeypatch.delenv("LOOM_DAGSTER_DATABASE_URL", raising=False)
    settings = LoomSettings(database_url="postgresql://u:p%40ss@db.local:5433/loom")
    assert (
        serve.dagster_database_url(settings)
        == "postgresql://u:p%40ss@db.local:5433/dagster"
    )
    monkeypatch.setenv("LOOM_DAGSTER_DATABASE_URL", "postgresql://a@b/c")
    assert serve.dagster_database_url(LoomSettings()) == "postgresql://a@b/c"


def test_children_get_loom_variables_and_dagster_storage(monkeypatch, tmp_path):
    monkeypatch.delenv("LOOM_DAGSTER_DATABASE_URL", raising=False)
    settings = LoomSettings(
        database_url="postgresql://u:p%40ss@db.local:5433/loom",
        kafka_bootstrap="127.0.0.1:9999",
        home=tmp_path,
    )
    env = serve.child_env(settings, tmp_path / "dagster")
    assert env["LOOM_KAFKA_BOOTSTRAP"] == "127.0.0.1:9999"
    assert env["LOOM_DATABASE_URL"] == settings.database_url
    assert env["DAGSTER_HOME"] == str(tmp_path / "dagster")
    assert (
        env["LOOM_DAGSTER_PG_URL"]
        == "postgresql+psycopg2://u:p%40ss@db.local:5433/dagster"
    )


def test_dagster_storage_uses_the_local_stacks_socket_when_it_is_there(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("LOOM_DAGSTER_DATABASE_URL", raising=False)
    settings = LoomSettings(
        database_url="postgresql://loom:pw@127.0.0.1:15999/loom", home=tmp_path
    )
    tcp = "postgresql+psycopg2://loom:pw@127.0.0.1:15999/dagster"
    assert serve.dagster_storage_url(settings) == tcp  # no server: no socket
    socket_dir = tmp_path / "postgres" / "run"
    socket_dir.mkdir(parents=True)
    (socket_dir / ".s.PGSQL.15999").touch()
    url = serve.dagster_storage_url(settings)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "postgresql+psycopg2",
        "loom:pw@",
        "/dagster",
    )
    assert parse_qs(parts.query) == {"host": [str(socket_dir)], "port": ["15999"]}


def test_dagster_home_holds_the_instance_config_and_the_code_servers_workspace(
    tmp_path,
):
    home = serve.prepare_dagster_home(LoomSettings(home=tmp_path), 4123)
    assert home == tmp_path / "dagster"
    text = (home / "dagster.yaml").read_text()
    assert "QueuedRunCoordinator" in text
    assert "postgres_url: {env: LOOM_DAGSTER_PG_URL}" in text
    assert "run_retries" in text
    workspace = yaml.safe_load((home / "workspace.yaml").read_text())
    assert workspace == {
        "load_from": [
            {
                "grpc_server": {
                    "host": "127.0.0.1",
                    "port": 4123,
                    "location_name": "loom_dagster.definitions",
                }
            }
        ]
    }


def test_children_run_api_code_server_ui_and_daemon_from_this_python(tmp_path):
    found = serve.children("pkg.app:make", "127.0.0.1", (8000, 3000, 4123), tmp_path)
    assert [c.name for c in found] == [
        "ingest-api",
        "dagster-code-server",
        "dagster-webserver",
        "dagster-daemon",
    ]
    api, code, ui, daemon = found
    assert code.argv[1:5] == ["-m", "dagster", "code-server", "start"]
    assert code.argv[code.argv.index("-p") + 1] == "4123"
    assert code.ready_port == 4123
    assert ui.argv[ui.argv.index("-w") + 1] == str(tmp_path / "workspace.yaml")
    assert daemon.argv[-1] == str(tmp_path / "workspace.yaml")
    assert api.argv[:5] == [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "pkg.app:make",
    ]
    assert "8000" in api.argv
    assert ui.argv[ui.argv.index("-p") + 1] == "3000"
    assert daemon.argv[1:4] == ["-m", "dagster._daemon", "run"]


def test_a_missing_api_module_fails_clearly():
    with pytest.raises(click.ClickException, match="merge the ingest API branch"):
        serve._require_app("no_such_pkg.app:create_app")


def test_a_taken_port_fails_clearly(monkeypatch):
    monkeypatch.setattr(serve, "_require_app", lambda _app: None)
    monkeypatch.setattr(serve, "port_in_use", lambda port, host: port == 3000)
    result = CliRunner().invoke(serve.serve, [])
    assert result.exit_code == 1
    assert "port 3000 for the Dagster UI is taken" in result.output


def _sleeper(name):
    return serve.Child(name, [sys.executable, "-c", "import time; time.sleep(60)"])


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_supervisor_stops_every_child_when_asked():
    supervisor = serve.Supervisor([_sleeper("a"), _sleeper("b")], dict(os.environ))
    supervisor.start()
    pids = [c.process.pid for c in supervisor.members]
    supervisor.request_stop(signal.SIGTERM, None)
    assert supervisor.wait() is None
    supervisor.stop()
    assert not any(_alive(pid) for pid in pids)


def test_supervisor_reports_a_child_that_exits_and_stops_the_rest():
    quitter = serve.Child("quitter", [sys.executable, "-c", "raise SystemExit(3)"])
    supervisor = serve.Supervisor([_sleeper("a"), quitter], dict(os.environ))
    supervisor.start()
    exited = supervisor.wait()
    assert exited is quitter
    assert exited.process.returncode == 3
    supervisor.stop()
    assert not _alive(supervisor.members[0].process.pid)
