"""The local cluster's layout and its services' configuration (no server started)."""

from loom_cli.stack.cluster import ClusterLayout, client_environment
from loom_cli.stack.services import KafkaNode, TrinoWorker
from loom_core.settings import LoomSettings


def cluster(tmp_path, replica=False):
    home = LoomSettings(
        home=tmp_path, database_url="postgresql://me:secret@127.0.0.1:15433/loom"
    )
    layout = ClusterLayout(base_port=30000, replica=replica)
    settings = layout.settings(home)
    return layout, settings, layout.services(settings)


def test_the_cluster_lives_in_its_own_folder_and_port_range(tmp_path):
    _, settings, _ = cluster(tmp_path)
    assert settings.home == tmp_path / "cluster"
    assert settings.cache == tmp_path / "cache"  # downloads shared with the home
    assert client_environment(settings) == {
        "LOOM_KAFKA_BOOTSTRAP": "127.0.0.1:30000,127.0.0.1:30002,127.0.0.1:30004",
        "LOOM_DATABASE_URL": "postgresql://me:secret@127.0.0.1:30010/loom",
        "LOOM_REDIS_URL": "redis://127.0.0.1:30012/0",
        "LOOM_TRINO_URL": "http://127.0.0.1:30020",
    }


def test_services_start_in_order_and_every_port_differs(tmp_path):
    _, _, services = cluster(tmp_path, replica=True)
    assert [s.name for s in services] == [
        "postgres",
        "postgres-replica",
        "redis",
        "kafka-controller-1",
        "kafka-controller-2",
        "kafka-controller-3",
        "kafka-1",
        "kafka-2",
        "kafka-3",
        "trino",
        "trino-worker",
    ]
    ports = [s.port for s in services]
    assert len(set(ports)) == len(ports)
    assert len({s.home for s in services}) == len(services)


def test_brokers_and_controllers_are_separate_kraft_nodes(tmp_path):
    _, _, services = cluster(tmp_path)
    nodes = [s for s in services if isinstance(s, KafkaNode)]
    voters = "101@127.0.0.1:30001,102@127.0.0.1:30003,103@127.0.0.1:30005"
    assert {n.voters for n in nodes} == {voters}
    broker = next(n for n in nodes if n.name == "kafka-2")
    assert (broker.node_id, broker.roles, broker.listeners) == (
        2,
        ("broker",),
        ["PLAINTEXT://127.0.0.1:30002"],
    )
    controller = next(n for n in nodes if n.name == "kafka-controller-2")
    assert (controller.node_id, controller.roles, controller.listeners) == (
        102,
        ("controller",),
        ["CONTROLLER://127.0.0.1:30003"],
    )
    assert (broker.replication, broker.min_isr, broker.brokers) == (3, 2, 3)
    assert (broker.heap, controller.heap) == ("512m", "256m")


def test_the_worker_announces_itself_to_the_coordinator(tmp_path):
    _, _, services = cluster(tmp_path)
    coordinator = next(s for s in services if s.name == "trino")
    worker = next(s for s in services if isinstance(s, TrinoWorker))
    coordinator.prepare()
    worker.prepare()
    config = (worker.etc / "config.properties").read_text()
    assert "coordinator=false" in config
    assert "discovery.uri=http://127.0.0.1:30020" in config
    assert "http-server.http.port=30021" in config
    assert (
        "node-scheduler.include-coordinator=false"
        in (coordinator.etc / "config.properties").read_text()
    )
    assert "-Xmx1G" in (worker.etc / "jvm.config").read_text()
    assert "node.id=loom-trino-worker" in (worker.etc / "node.properties").read_text()


def test_the_layout_is_remembered_for_status_and_down(tmp_path):
    assert ClusterLayout.load(tmp_path) is None
    ClusterLayout(base_port=31000, replica=True).save(tmp_path)
    assert ClusterLayout.load(tmp_path) == ClusterLayout(31000, replica=True)
