"""``Stack`` takes turns: two ``up``/``down`` calls on one home never overlap."""

import threading
import time

from loom_cli.stack.stack import Stack
from loom_core.settings import LoomSettings


def test_a_second_stack_command_on_the_same_home_waits_for_the_first(tmp_path):
    notes: list[str] = []
    first = Stack(LoomSettings(home=tmp_path))
    second = Stack(LoomSettings(home=tmp_path), report=notes.append)
    order: list[str] = []

    def wait_for_first() -> None:
        with second._exclusive():
            order.append("second")

    with first._exclusive():
        waiter = threading.Thread(target=wait_for_first)
        waiter.start()
        time.sleep(0.3)
        order.append("first done")
    waiter.join(timeout=10)

    assert order == ["first done", "second"]
    assert notes == ["waiting for another `loom stack` command on this home"]


def test_stacks_on_other_homes_do_not_wait(tmp_path):
    notes: list[str] = []
    mine = Stack(LoomSettings(home=tmp_path / "a"))
    other = Stack(LoomSettings(home=tmp_path / "b"), report=notes.append)
    with mine._exclusive(), other._exclusive():
        pass
    assert notes == []
