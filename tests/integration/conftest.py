"""Every integration test runs against the real local stack."""

import pytest

from loom_cli.stack.stack import Stack


@pytest.fixture(autouse=True)
def _stack_is_up(stack: Stack) -> Stack:
    return stack
