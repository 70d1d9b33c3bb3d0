"""The local cluster of ``loom stack up --cluster``: Loom's production shape, small.

Three KRaft Kafka brokers (replication 3, ``min.insync.replicas=2``) beside a
quorum of three KRaft controllers, a Trino coordinator with one worker, PostgreSQL with
an optional streaming replica, and Redis. It runs beside the single-node stack:
its state lives in ``$LOOM_HOME/cluster`` and its ports in a range of their own
(``base_port`` and up), so both can run at once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from loom_cli.stack import provision
from loom_cli.stack.services import (
    KafkaNode,
    Postgres,
    PostgresReplica,
    Redis,
    Service,
    TrinoCoordinator,
    TrinoWorker,
)
from loom_core.settings import LoomSettings

CLUSTER_DIR = "cluster"
LAYOUT_FILE = "cluster.json"
BASE_PORT = 29090
BROKERS = 3
# Offsets from the base port: Kafka broker i (from 0) listens on 2i and
# controller i on 2i + 1; the others sit further up.
POSTGRES, REPLICA, REDIS, TRINO, TRINO_WORKER = 10, 11, 12, 20, 21
PORT_SPAN = TRINO_WORKER + 1


@dataclass(frozen=True)
class ClusterLayout:
    """Where the cluster's processes listen, and whether it has a replica.

    Parameters
    ----------
    base_port
        The lowest of the ``PORT_SPAN`` consecutive ports the cluster uses.
    replica
        Whether a PostgreSQL streaming replica runs beside the primary.
    """

    base_port: int = BASE_PORT
    replica: bool = False

    @property
    def kafka_ports(self) -> list[tuple[int, int]]:
        """``(broker, controller)`` ports of the Kafka nodes, by index from 1."""
        return [(self.base_port + 2 * i, self.base_port + 2 * i + 1) for i in range(3)]

    @property
    def replica_port(self) -> int:
        """The PostgreSQL replica's port."""
        return self.base_port + REPLICA

    def settings(self, home: LoomSettings) -> LoomSettings:
        """Return the cluster's settings, under ``home``'s state folder and cache.

        The database role and password are those of ``home``'s URL.
        """
        db = urlsplit(home.database_url)
        credentials = f"{db.username or 'loom'}:{db.password or 'loom'}"
        return LoomSettings(
            home=home.home / CLUSTER_DIR,
            cache_dir=home.cache,
            kafka_bootstrap=",".join(f"127.0.0.1:{b}" for b, _ in self.kafka_ports),
            database_url=(
                f"postgresql://{credentials}@127.0.0.1:{self.base_port + POSTGRES}"
                f"{db.path or '/loom'}"
            ),
            redis_url=f"redis://127.0.0.1:{self.base_port + REDIS}/0",
            trino_url=f"http://127.0.0.1:{self.base_port + TRINO}",
        )

    def services(
        self, settings: LoomSettings, report: provision.Report = provision.quiet
    ) -> list[Service]:
        """Return the cluster's services in start order (``settings``: its own)."""
        postgres = Postgres(settings, report)
        services: list[Service] = [postgres]
        if self.replica:
            services.append(
                PostgresReplica(
                    settings, report, primary=postgres, port=self.replica_port
                )
            )
        services.append(Redis(settings, report))
        services += [
            KafkaNode(
                settings, report, index=i, ports=self.kafka_ports, controller=True
            )
            for i in range(1, BROKERS + 1)
        ]
        services += [
            KafkaNode(settings, report, index=i, ports=self.kafka_ports)
            for i in range(1, BROKERS + 1)
        ]
        services += [
            TrinoCoordinator(settings, report),
            TrinoWorker(settings, report, port=self.base_port + TRINO_WORKER),
        ]
        return services

    def save(self, home: Path) -> None:
        """Remember the layout in the cluster's folder (``status`` and ``down`` read it)."""
        folder = home / CLUSTER_DIR
        folder.mkdir(parents=True, exist_ok=True)
        (folder / LAYOUT_FILE).write_text(json.dumps(asdict(self)) + "\n")

    @classmethod
    def load(cls, home: Path) -> ClusterLayout | None:
        """Return the layout saved under ``home``, or None when no cluster was started."""
        try:
            return cls(**json.loads((home / CLUSTER_DIR / LAYOUT_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None


def client_environment(settings: LoomSettings) -> dict[str, str]:
    """Return the ``LOOM_*`` variables that point Loom's clients at the cluster."""
    return {
        "LOOM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "LOOM_DATABASE_URL": settings.database_url,
        "LOOM_REDIS_URL": settings.redis_url,
        "LOOM_TRINO_URL": settings.trino_url,
    }
