"""The four servers of the local stack: PostgreSQL+TimescaleDB, Redis, Kafka, Trino.

Each service knows how to provision itself (install what is missing), prepare its
state under ``$LOOM_HOME``, the command that runs it, and how to tell it is healthy.
"""

from __future__ import annotations

import base64
import os
import pwd
import shutil
import signal
import subprocess
import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from loom_cli.errors import first_line
from loom_cli.stack import provision
from loom_cli.stack.process import ManagedProcess, StackError, pid_alive, port_in_use
from loom_core.settings import REPO_ROOT, LoomSettings

LOCAL_DEPLOY = REPO_ROOT / "deploy" / "local"
TRINO_CATALOGS = REPO_ROOT / "deploy" / "trino" / "catalog"
TRINO_KAFKA_TABLES = REPO_ROOT / "deploy" / "trino" / "kafka-tables"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


class Service(ABC):
    """A server the stack starts as a local process.

    Parameters
    ----------
    settings
        Connection settings; the service listens on the port they name.
    report
        Receives one-line progress messages.
    """

    name: str
    stop_signal: signal.Signals = signal.SIGTERM
    startup_timeout: float = 60.0
    user: str | None = None  # run the server as this user (None: as ourselves)

    def __init__(
        self, settings: LoomSettings, report: provision.Report = provision.quiet
    ) -> None:
        self.settings = settings
        self.report = report
        self.home = settings.home / self.name
        self.process = ManagedProcess(
            self.name, settings.home / "run", settings.home / "logs", self.markers
        )

    @property
    @abstractmethod
    def port(self) -> int:
        """The TCP port the service listens on (127.0.0.1)."""

    @property
    def markers(self) -> tuple[str, ...]:
        """Strings of which our process's command line holds at least one."""
        return (str(self.home),)

    @property
    def cache(self) -> Path:
        """Downloads and builds shared by every start."""
        return self.settings.cache

    def provision(self) -> None:  # noqa: B027 - optional hook
        """Install whatever the service needs and is missing."""

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Create data folders and configuration before a start."""

    @abstractmethod
    def argv(self) -> list[str]:
        """Return the command that runs the server in the foreground."""

    def env(self) -> dict[str, str]:
        """Extra environment variables for the server."""
        return {}

    @abstractmethod
    def check(self) -> None:
        """Raise an exception saying why the service is not healthy."""

    def ready(self) -> None:
        """Raise unless the server accepts work (before ``after_start``)."""
        self.check()

    def after_start(self) -> None:  # noqa: B027 - optional hook
        """Create what the stack expects inside a ready server (idempotent)."""

    def health(self) -> str | None:
        """Return None when healthy, else the reason it is not."""
        try:
            self.check()
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            return first_line(exc)
        return None


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in [root, *(Path(root, n) for n in dirs + files)]:
            os.chown(name, entry.pw_uid, entry.pw_gid)


def _require_reachable(path: Path, user: str) -> None:
    """Fail clearly when ``user`` cannot traverse the folders above ``path``."""
    for parent in path.resolve().parents:
        if not parent.stat().st_mode & 0o001:
            msg = (
                f"the {user} user cannot reach {path} because {parent} is not "
                f"world-searchable; run `chmod o+x {parent}` or set LOOM_HOME elsewhere"
            )
            raise StackError(msg)


class Postgres(Service):
    """PostgreSQL 15 with TimescaleDB preloaded; database ``loom``, role ``loom``."""

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: roll back clients, then stop
    startup_timeout = 60.0

    @property
    def user(self) -> str | None:  # type: ignore[override]
        """``postgres`` when run as root: initdb refuses to run as root."""
        return "postgres" if os.geteuid() == 0 else None

    @property
    def port(self) -> int:  # noqa: D102
        return self.settings.postgres_port

    @property
    def data(self) -> Path:
        """The cluster's data directory."""
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        """Where the server's Unix socket lives (superuser access for bootstrap)."""
        return self.home / "run"

    def provision(self) -> None:  # noqa: D102
        if not (PG_BIN / "postgres").exists():
            provision.apt_install("postgresql-15", report=self.report)
        pkglib = Path(
            subprocess.run(
                [PG_BIN / "pg_config", "--pkglibdir"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        if not (pkglib / "timescaledb.so").exists():
            self.report("building TimescaleDB from Debian's source package (~1 min)")
            script = LOCAL_DEPLOY / "postgres" / "install-timescaledb.sh"
            work = self.cache / "timescaledb"
            work.mkdir(parents=True, exist_ok=True)
            provision.run(
                ["bash", str(script), str(work)],
                "building TimescaleDB",
                f"see {script} for the recipe; it needs root and the Debian mirror",
            )

    def prepare(self) -> None:  # noqa: D102
        self.home.mkdir(parents=True, exist_ok=True)
        if self.user:
            _require_reachable(self.home, self.user)
        self.socket_dir.mkdir(exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self.data.mkdir()
            if self.user:
                _chown_tree(self.home, self.user)
            self.report("initialising the PostgreSQL cluster")
            provision.run(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ],
                "initdb",
                f"remove {self.data} and retry",
                user=self.user,
            )
        conf = (LOCAL_DEPLOY / "postgres" / "postgresql.conf").read_text()
        (self.data / "loom.conf").write_text(conf)
        main_conf = self.data / "postgresql.conf"
        if "include_if_exists = 'loom.conf'" not in main_conf.read_text():
            with main_conf.open("a") as fh:
                fh.write("\ninclude_if_exists = 'loom.conf'\n")
        if self.user:
            _chown_tree(self.home, self.user)

    def argv(self) -> list[str]:  # noqa: D102
        return [
            str(PG_BIN / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.socket_dir}",
        ]

    def _superuser(self, dbname: str = "postgres"):  # noqa: ANN202
        import psycopg  # noqa: PLC0415 - keep `loom lint` free of driver imports

        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname=dbname,
            autocommit=True,
            connect_timeout=3,
        )

    def ready(self) -> None:  # noqa: D102
        with self._superuser() as conn:
            conn.execute("SELECT 1")

    def check(self) -> None:  # noqa: D102
        import psycopg  # noqa: PLC0415

        with psycopg.connect(self.settings.database_url, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
        if row is None:
            msg = "timescaledb extension missing in the loom database"
            raise RuntimeError(msg)

    def health(self) -> str | None:  # noqa: D102
        reason = super().health()
        if reason and "password authentication failed" in reason:
            return reason + " (LOOM_DATABASE_URL must match the stack's role)"
        return reason

    def after_start(self) -> None:  # noqa: D102
        url = urlsplit(self.settings.database_url)
        role, password = url.username or "loom", url.password or "loom"
        databases = [url.path.lstrip("/") or "loom", "dagster"]
        with self._superuser() as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
            ).fetchone():
                conn.execute(f'CREATE ROLE "{role}" LOGIN CREATEDB')
            conn.execute(f"ALTER ROLE \"{role}\" PASSWORD '{password}'")
            for db in databases:
                if not conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (db,)
                ).fetchone():
                    conn.execute(f'CREATE DATABASE "{db}" OWNER "{role}"')
        with self._superuser(databases[0]) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")


class Redis(Service):
    """Redis for short-lived ingest state (upload offsets, camera pairs)."""

    name = "redis"
    startup_timeout = 20.0

    @property
    def port(self) -> int:  # noqa: D102
        return self.settings.redis_port

    @property
    def markers(self) -> tuple[str, ...]:  # noqa: D102
        # redis-server soon rewrites its command line to "redis-server host:port"
        return (str(self.home), f"127.0.0.1:{self.port}")

    def provision(self) -> None:  # noqa: D102
        provision.require_command("redis-server", "redis-server", self.report)

    def prepare(self) -> None:  # noqa: D102
        self.home.mkdir(parents=True, exist_ok=True)

    def argv(self) -> list[str]:  # noqa: D102
        return [
            shutil.which("redis-server") or "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.home),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--daemonize",
            "no",
        ]

    def check(self) -> None:  # noqa: D102
        import redis  # noqa: PLC0415

        client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()


class Kafka(Service):
    """Apache Kafka 4 in KRaft mode: one node that is broker and controller."""

    name = "kafka"
    startup_timeout = 90.0
    java_version = 17
    heap = "768m"
    node_id = 1
    replication = 1  # the brokers' default replication factor
    min_isr = 1

    @property
    def port(self) -> int:  # noqa: D102
        return self.settings.kafka_port

    @property
    def controller_port(self) -> int:
        """The KRaft controller listener, next to the broker port."""
        return self.port + 1

    @property
    def roles(self) -> tuple[str, ...]:
        """``process.roles``: what the node is."""
        return ("broker", "controller")

    @property
    def listeners(self) -> list[str]:
        """The node's listeners, the one it advertises first."""
        broker = f"PLAINTEXT://127.0.0.1:{self.port}"
        controller = f"CONTROLLER://127.0.0.1:{self.controller_port}"
        return [
            *([broker] if "broker" in self.roles else []),
            *([controller] if "controller" in self.roles else []),
        ]

    @property
    def voters(self) -> str:
        """``controller.quorum.voters``: every controller as ``id@host:port``."""
        return f"{self.node_id}@127.0.0.1:{self.controller_port}"

    @property
    def brokers(self) -> int:
        """How many brokers must be registered before the node counts as ready."""
        return 1

    def cluster_id(self) -> str:
        """Return the id to format the storage with (random: one node, one cluster)."""
        return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()

    @property
    def config(self) -> Path:
        """The generated ``server.properties``."""
        return self.home / "server.properties"

    def provision(self) -> None:  # noqa: D102
        self.java = provision.find_java_home(self.java_version, self.report)
        self.classpath = provision.maven_resolve(
            LOCAL_DEPLOY / "kafka" / "pom.xml", self.cache / "maven", self.report
        )

    def prepare(self) -> None:  # noqa: D102
        data = self.home / "data"
        data.mkdir(parents=True, exist_ok=True)
        template = (LOCAL_DEPLOY / "kafka" / "server.properties").read_text()
        self.config.write_text(
            template.format(
                roles=",".join(self.roles),
                node_id=self.node_id,
                voters=self.voters,
                listeners=",".join(self.listeners),
                advertised_listeners=self.listeners[0],
                data=data,
                replication=self.replication,
                min_isr=self.min_isr,
            )
        )
        if not (data / "meta.properties").exists():
            cluster_id = self.cluster_id()
            self.report(f"{self.name}: formatting Kafka storage (KRaft)")
            provision.run(
                [
                    *self._java(),
                    "kafka.tools.StorageTool",
                    "format",
                    # One argument: a random id may start with '-' (1 in 64), which
                    # the tool's parser would take for an option.
                    f"--cluster-id={cluster_id}",
                    "-c",
                    str(self.config),
                ],
                "formatting Kafka storage",
                f"remove {data} and retry",
            )

    def _java(self) -> list[str]:
        log_config = LOCAL_DEPLOY / "kafka" / "log4j2.yaml"
        return [
            str(self.java / "bin" / "java"),
            "-Xms256m",
            f"-Xmx{self.heap}",
            f"-Dlog4j2.configurationFile={log_config}",
            "-cp",
            os.pathsep.join(map(str, self.classpath)),
        ]

    def argv(self) -> list[str]:  # noqa: D102
        return [*self._java(), "kafka.Kafka", str(self.config)]

    def registered(self) -> list[int]:
        """Return the ids of the brokers registered, as this node's listener says.

        Raises
        ------
        RuntimeError
            When this node does not answer, or is not among them.
        """
        from confluent_kafka.admin import AdminClient  # noqa: PLC0415

        if not port_in_use(self.port):
            msg = f"nothing listens on 127.0.0.1:{self.port}"
            raise RuntimeError(msg)
        admin = AdminClient(
            {
                "bootstrap.servers": f"127.0.0.1:{self.port}",
                "socket.timeout.ms": 3000,
                "log_level": 0,
            }
        )
        brokers = sorted(admin.list_topics(timeout=3).brokers)
        if self.node_id not in brokers:
            msg = f"broker {self.node_id} is not registered (brokers: {brokers})"
            raise RuntimeError(msg)
        return brokers

    def check(self) -> None:  # noqa: D102
        self.registered()

    def ready(self) -> None:  # noqa: D102
        registered = self.registered()
        if len(registered) < self.brokers:
            msg = f"{len(registered)} of {self.brokers} brokers registered"
            raise RuntimeError(msg)

    def after_start(self) -> None:  # noqa: D102
        from loom_core.kafka import ensure_topics  # noqa: PLC0415

        ensure_topics(self.settings.kafka_bootstrap)


class KafkaNode(Kafka):
    """A node of the cluster's Kafka (``loom stack up --cluster``): broker or controller.

    Brokers and controllers are separate processes, as in production: a broker's
    death costs the time the controllers take to fence it (``broker.session.
    timeout.ms``), never a controller election on top.

    Parameters
    ----------
    settings
        The cluster's settings (``kafka_bootstrap`` lists every broker).
    report
        Receives one-line progress messages.
    index
        Which of the nodes, from 1: broker ``index`` is ``kafka-<index>`` with
        node id ``index``; controller ``index`` is ``kafka-controller-<index>``
        with node id ``CONTROLLER_IDS + index``.
    ports
        ``(broker, controller)`` ports by index.
    controller
        Whether this node is a controller (else a broker).
    """

    replication = 3
    min_isr = 2
    CONTROLLER_IDS = 100

    def __init__(
        self,
        settings: LoomSettings,
        report: provision.Report = provision.quiet,
        *,
        index: int,
        ports: list[tuple[int, int]],
        controller: bool = False,
    ) -> None:
        self.index = index
        self.ports = ports
        self.controller = controller
        self.name = f"kafka-controller-{index}" if controller else f"kafka-{index}"
        self.node_id = self.CONTROLLER_IDS + index if controller else index
        super().__init__(settings, report)

    @property
    def heap(self) -> str:  # type: ignore[override]
        """The JVM's heap: a controller holds only the cluster's metadata."""
        return "256m" if self.controller else "512m"

    @property
    def roles(self) -> tuple[str, ...]:  # noqa: D102
        return ("controller",) if self.controller else ("broker",)

    @property
    def port(self) -> int:  # noqa: D102
        broker, controller = self.ports[self.index - 1]
        return controller if self.controller else broker

    @property
    def controller_port(self) -> int:  # noqa: D102
        return self.ports[self.index - 1][1]

    @property
    def voters(self) -> str:  # noqa: D102
        return ",".join(
            f"{self.CONTROLLER_IDS + i}@127.0.0.1:{controller}"
            for i, (_, controller) in enumerate(self.ports, start=1)
        )

    @property
    def brokers(self) -> int:  # noqa: D102
        return len(self.ports)

    def cluster_id(self) -> str:
        """Return the id every node of the cluster is formatted with (kept beside them)."""
        path = self.settings.home / "kafka-cluster-id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(super().cluster_id())
        return path.read_text().strip()

    def check(self) -> None:  # noqa: D102
        if not self.controller:
            super().check()
        elif not port_in_use(self.port):
            msg = f"nothing listens on 127.0.0.1:{self.port}"
            raise RuntimeError(msg)

    def ready(self) -> None:  # noqa: D102
        if self.controller:
            self.check()
        else:
            super().ready()

    def after_start(self) -> None:  # noqa: D102
        if not self.controller:
            super().after_start()


class Trino(Service):
    """Trino coordinator with the ``timescale`` and ``kafka`` catalogs."""

    name = "trino"
    startup_timeout = 180.0
    java_version = 24
    plugins = ("postgresql", "kafka", "geospatial")  # postgresql needs geospatial
    heap = "2G"
    memory_per_node = "1GB"
    config_dir = LOCAL_DEPLOY / "trino"
    include_coordinator = True  # the coordinator runs splits too (no worker)

    @property
    def port(self) -> int:  # noqa: D102
        return self.settings.trino_port

    def template_values(self) -> dict[str, object]:
        """Return what fills the placeholders of the ``*.properties`` templates."""
        return {
            "port": self.port,
            "data": self.home / "data",
            "node_id": f"loom-{self.name}",
            "include_coordinator": str(self.include_coordinator).lower(),
            "memory_per_node": self.memory_per_node,
            "discovery": self.settings.trino_url,
        }

    @property
    def etc(self) -> Path:
        """The generated configuration folder."""
        return self.home / "etc"

    def provision(self) -> None:  # noqa: D102
        self.java = provision.find_java_home(self.java_version, self.report)
        (tarball,) = provision.maven_resolve(
            LOCAL_DEPLOY / "trino" / "pom.xml", self.cache / "maven", self.report
        )
        keep = ("bin/", "lib/", *(f"plugin/{p}/" for p in self.plugins))
        self.server = provision.extract_selected(tarball, self.cache, keep, self.report)

    def prepare(self) -> None:  # noqa: D102
        catalog = self.etc / "catalog"
        shutil.rmtree(catalog, ignore_errors=True)
        catalog.mkdir(parents=True)
        values = self.template_values()
        templates = {p.name: p for p in (LOCAL_DEPLOY / "trino").glob("*.properties")}
        templates |= {p.name: p for p in self.config_dir.glob("*.properties")}
        for name, template in templates.items():
            (self.etc / name).write_text(template.read_text().format(**values))
        jvm = (LOCAL_DEPLOY / "trino" / "jvm.config").read_text()
        (self.etc / "jvm.config").write_text(jvm.format(heap=self.heap))
        for source in TRINO_CATALOGS.glob("*.properties"):
            shutil.copy(source, catalog / source.name)
        # Replaced as a whole, so a description removed from the checkout is gone too.
        tables = self.etc / "kafka-tables"
        shutil.rmtree(tables, ignore_errors=True)
        tables.mkdir()
        for source in TRINO_KAFKA_TABLES.glob("*.json"):
            shutil.copy(source, tables / source.name)
        self._clear_stale_launcher_pid()

    def _clear_stale_launcher_pid(self) -> None:
        """Remove the launcher's pid file when its process is gone or a zombie.

        The launcher refuses to start while that pid exists, and a JVM stopped a
        moment ago (a restart to load changed catalogs) can linger as a zombie until
        init reaps it.
        """
        pid_file = self.home / "data" / "var" / "run" / "launcher.pid"
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        if not pid_alive(pid):
            pid_file.unlink(missing_ok=True)

    def argv(self) -> list[str]:  # noqa: D102
        return [
            str(self.server / "bin" / "launcher"),
            "run",
            f"--etc-dir={self.etc}",
            f"--data-dir={self.home / 'data'}",
        ]

    def env(self) -> dict[str, str]:  # noqa: D102
        db = urlsplit(self.settings.database_url)
        return {
            "JAVA_HOME": str(self.java),
            "PATH": f"{self.java / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "LOOM_TRINO_PG_JDBC": f"jdbc:postgresql://{db.hostname}:{db.port}{db.path}",
            "LOOM_TRINO_PG_USER": db.username or "loom",
            "LOOM_TRINO_PG_PASSWORD": db.password or "",
            "LOOM_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
            "LOOM_TRINO_KAFKA_TABLES": str(self.etc / "kafka-tables"),
        }

    def check(self) -> None:  # noqa: D102
        info = httpx.get(f"{self.settings.trino_url}/v1/info", timeout=3).json()
        if info.get("starting", True):
            msg = "still starting"
            raise RuntimeError(msg)


class TrinoCoordinator(Trino):
    """The coordinator of ``loom stack up --cluster``: it plans, workers run splits."""

    heap = "1G"
    memory_per_node = "512MB"
    include_coordinator = False


class TrinoWorker(Trino):
    """A Trino worker of ``loom stack up --cluster``, announced to the coordinator.

    Parameters
    ----------
    settings
        The cluster's settings (``trino_url`` is the coordinator).
    report
        Receives one-line progress messages.
    port
        The worker's HTTP port.
    """

    name = "trino-worker"
    heap = "1G"
    memory_per_node = "512MB"
    config_dir = LOCAL_DEPLOY / "trino" / "worker"

    def __init__(
        self,
        settings: LoomSettings,
        report: provision.Report = provision.quiet,
        *,
        port: int,
    ) -> None:
        self.worker_port = port
        super().__init__(settings, report)

    @property
    def port(self) -> int:  # noqa: D102
        return self.worker_port

    @property
    def node_id(self) -> str:
        """The id the worker announces (``system.runtime.nodes.node_id``)."""
        return str(self.template_values()["node_id"])

    def check(self) -> None:  # noqa: D102
        info = httpx.get(f"http://127.0.0.1:{self.port}/v1/info", timeout=3).json()
        if info.get("starting", True):
            msg = "still starting"
            raise RuntimeError(msg)
        if not self._active():
            msg = f"the coordinator at {self.settings.trino_url} does not list it"
            raise RuntimeError(msg)

    def _active(self) -> bool:
        """Whether the coordinator counts this worker among its active nodes."""
        nodes = httpx.get(
            f"{self.settings.trino_url}/v1/node",
            headers={"X-Trino-User": "loom"},
            timeout=3,
        ).json()
        return any(f":{self.port}" in node.get("uri", "") for node in nodes)


class PostgresReplica(Postgres):
    """A streaming replica of the stack's PostgreSQL (``loom stack up --cluster``).

    Cloned with ``pg_basebackup`` from the primary's Unix socket on first start; a
    hot standby that answers read-only queries.

    Parameters
    ----------
    settings
        The cluster's settings.
    report
        Receives one-line progress messages.
    primary
        The PostgreSQL service it replicates.
    port
        The replica's port.
    """

    name = "postgres-replica"

    def __init__(
        self,
        settings: LoomSettings,
        report: provision.Report = provision.quiet,
        *,
        primary: Postgres,
        port: int,
    ) -> None:
        self.primary = primary
        self.replica_port = port
        super().__init__(settings, report)

    @property
    def port(self) -> int:  # noqa: D102
        return self.replica_port

    def prepare(self) -> None:  # noqa: D102
        self.home.mkdir(parents=True, exist_ok=True)
        if self.user:
            _require_reachable(self.home, self.user)
        self.socket_dir.mkdir(exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            self._wait_for_primary()
            shutil.rmtree(self.data, ignore_errors=True)
            if self.user:
                _chown_tree(self.home, self.user)
            self.report(f"{self.name}: cloning the primary (pg_basebackup)")
            provision.run(
                [
                    str(PG_BIN / "pg_basebackup"),
                    f"--host={self.primary.socket_dir}",
                    f"--port={self.primary.port}",
                    "--username=postgres",
                    f"--pgdata={self.data}",
                    "--write-recovery-conf",
                    "--wal-method=stream",
                    "--checkpoint=fast",
                ],
                "pg_basebackup",
                f"remove {self.data} and retry",
                user=self.user,
            )
        if self.user:
            _chown_tree(self.home, self.user)

    def _wait_for_primary(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.primary.ready()
            except Exception as exc:  # noqa: BLE001 - not ready yet, whatever the cause
                if time.monotonic() > deadline:
                    msg = f"the primary never became ready to clone: {first_line(exc)}"
                    raise StackError(msg) from None
                time.sleep(0.5)
            else:
                return

    def ready(self) -> None:  # noqa: D102
        self.check()

    def check(self) -> None:  # noqa: D102
        with self._superuser() as conn:
            (standby,) = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            receiver = conn.execute(
                "SELECT status FROM pg_stat_wal_receiver"
            ).fetchone()
        if not standby:
            msg = "not in recovery: it is no longer a replica"
            raise RuntimeError(msg)
        if receiver is None or receiver[0] != "streaming":
            msg = "not streaming from the primary"
            raise RuntimeError(msg)

    def after_start(self) -> None:
        """Nothing: roles, databases and extensions come from the primary."""


def all_services(
    settings: LoomSettings, report: provision.Report = provision.quiet
) -> list[Service]:
    """Return the stack's services in start order."""
    return [cls(settings, report) for cls in (Postgres, Redis, Kafka, Trino)]
