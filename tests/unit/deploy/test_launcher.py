"""One run launcher configuration, locally (dagster.yaml) and on Kubernetes."""

from __future__ import annotations

import yaml
from dagster import DagsterRun, instance_for_test

from loom_core.settings import REPO_ROOT
from loom_dagster.run_launcher import HEAVY_RUN_TAGS, LoomRunLauncher

LOCAL = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
CHART = yaml.safe_load(
    (REPO_ROOT / "deploy" / "flux" / "base" / "values" / "dagster.yaml").read_text()
)


def test_the_same_launcher_runs_locally_and_in_the_charts() -> None:
    custom = CHART["runLauncher"]["config"]["customRunLauncher"]
    assert CHART["runLauncher"]["type"] == "CustomRunLauncher"
    assert (custom["module"], custom["class"]) == (
        LOCAL["run_launcher"]["module"],
        LOCAL["run_launcher"]["class"],
    )
    assert set(custom["config"]) <= set(LoomRunLauncher.config_type())


def test_run_retries_and_the_landing_limit_are_the_same_in_both() -> None:
    daemon = CHART["dagsterDaemon"]
    assert LOCAL["run_retries"] == {
        "enabled": daemon["runRetries"]["enabled"],
        "max_retries": daemon["runRetries"]["maxRetries"],
    }
    queued = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert LOCAL["run_coordinator"]["config"]["tag_concurrency_limits"] == (
        queued["tagConcurrencyLimits"]
    )
    assert LOCAL["run_monitoring"]["enabled"] is daemon["runMonitoring"]["enabled"]


def run(**tags: str) -> DagsterRun:
    return DagsterRun(job_name="j", run_id="r", tags=tags)


def test_light_runs_stay_beside_the_code_location() -> None:
    local = LoomRunLauncher()
    assert local.route(run()) == "fork"
    assert local.route(run(**HEAVY_RUN_TAGS)) == "fork"  # no Kubernetes here
    cluster = LoomRunLauncher(warm_fork=False, k8s_job={"instance_config_map": "i"})
    cluster._k8s = object()  # what register_instance builds from k8s_job
    assert cluster.route(run(**{"loom/domain": "landing"})) == "code-server"
    assert cluster.route(run(**HEAVY_RUN_TAGS)) == "k8s-job"


def test_the_chart_config_is_accepted_by_the_launcher() -> None:
    config = CHART["runLauncher"]["config"]["customRunLauncher"]["config"]
    launcher = LoomRunLauncher.from_config_value(None, config)
    assert launcher.route(run()) == "code-server"


KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: loom}}]
current-context: x
"""


def test_an_instance_builds_dagster_k8s_from_the_chart_config(tmp_path) -> None:
    """The chart's k8s_job keys are K8sRunLauncher's (no cluster needed to load)."""
    config = CHART["runLauncher"]["config"]["customRunLauncher"]["config"]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    k8s_job = {
        **config["k8s_job"],
        "load_incluster_config": False,
        "kubeconfig_file": str(kubeconfig),
    }
    overrides = {
        "run_launcher": {
            "module": "loom_dagster.run_launcher",
            "class": "LoomRunLauncher",
            "config": {**config, "k8s_job": k8s_job},
        }
    }
    with instance_for_test(temp_dir=str(tmp_path), overrides=overrides) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, LoomRunLauncher)
        assert launcher.route(run(**HEAVY_RUN_TAGS)) == "k8s-job"
        assert launcher.route(run(**{"loom/domain": "landing"})) == "code-server"
        k8s = launcher._k8s
        assert k8s.env_config_maps == ["loom-dagster-env", "loom-endpoints"]
        assert k8s.job_namespace == "loom"
