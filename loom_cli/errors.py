"""One-line errors for the ``loom`` commands: what failed and what to do."""

from __future__ import annotations

import sys
from typing import NoReturn

import click


def first_line(exc: BaseException) -> str:
    """Return the first line of an exception's message (its repr when empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else repr(exc)


def no_database(exc: BaseException) -> str:
    """Say that PostgreSQL does not answer, and what to do."""
    return (
        f"cannot reach the database ({first_line(exc)}); start it with "
        "`loom stack up` or check LOOM_DATABASE_URL"
    )


def fail(command: str, message: str) -> NoReturn:
    """Print ``loom COMMAND: MESSAGE`` in red on stderr and exit 1."""
    click.secho(f"loom {command}: {message}", fg="red", err=True)
    sys.exit(1)
