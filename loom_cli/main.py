"""Entry point of the ``loom`` console script.

Sub-commands are imported only when invoked, so ``loom lint`` or ``loom stack``
never pay for Dagster, FastAPI or the models.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command; one line per domain.
COMMANDS: dict[str, str] = {
    "stack": "loom_cli.stack.cli:stack",
    "lint": "loom_cli.lint:lint",
    "import": "loom_cli.history.cli:import_history",
    "export": "loom_cli.history.cli:export_history",
    "sql": "loom_cli.analytics.cli:sql",
    "db": "loom_cli.db:db",
    "serve": "loom_cli.serve:serve",
    "api": "loom_cli.api:api",
    "devices": "loom_cli.devices:devices",
    "demo": "loom_cli.demo.cli:demo",
    "map": "loom_cli.track_map:track_map",
}


class LazyGroup(click.Group):
    """A click group that imports each sub-command on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002, D102
        return sorted(COMMANDS)

    def get_command(  # noqa: D102
        self,
        ctx: click.Context,  # noqa: ARG002 - part of click's signature
        cmd_name: str,
    ) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Loom: personal sensor data, ingested, landed, enriched and queryable."""
