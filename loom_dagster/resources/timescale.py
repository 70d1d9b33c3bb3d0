"""TimescaleDB, reached by every asset that writes or reads a hypertable."""

from __future__ import annotations

from typing import Any

import dagster as dg
import psycopg


class TimescaleResource(dg.ConfigurableResource):
    """A connection factory for the ``loom`` database.

    Attributes
    ----------
    database_url
        libpq URL, from ``LOOM_DATABASE_URL`` in the definitions.
    connect_timeout_s
        Seconds before a connection attempt fails (external calls time out in 5 s).
    """

    database_url: str
    connect_timeout_s: int = 5

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        """Open a new connection (the caller closes it, e.g. with ``with``)."""
        return psycopg.connect(
            self.database_url, connect_timeout=self.connect_timeout_s, **kwargs
        )
