"""``loom lint``: the project rules that Black and Ruff cannot see.

Rules (from ``project-rules.md``):

- LOOM001 error: a Kafka topic string literal breaks the naming rule.
- LOOM002 error: a Kafka topic string literal is not in the topic catalog.
- LOOM003 warning: a module consumes a topic but produces nothing (tests and
  benchmarks, which consume to verify, are exempt).
- LOOM004 warning: a Redis key is given a TTL above its limit
  (``pair:`` <= 30 s, ``chunk:`` <= 300 s).
- LOOM005 warning: a Redis key outside the allowed prefixes.

A string counts as a topic literal where Kafka takes a topic: the first argument of
``produce``/``subscribe``/``TopicPartition``/``NewTopic``/``Topic``, a ``topic=``
keyword, a value bound to a name ending in ``topic``/``topics``, or any literal that starts
with a catalog category (``device.``, ``media.``, ``location.``).
A line ending in ``# loom-lint: ignore`` is skipped (deliberate bad samples).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from loom_core.settings import REDIS_TTL_LIMITS, REPO_ROOT
from loom_core.topics import CATALOG, TOPIC_NAME

CATEGORIES = tuple(sorted({name.split(".", 1)[0] + "." for name in CATALOG}))
TOPIC_CALLS = {"produce", "subscribe", "TopicPartition", "NewTopic", "Topic"}
CONSUME_CALLS = {"subscribe", "assign"}  # poll/consume are too generic (Popen.poll)
REDIS_TTL_CALLS = {"set": "ex", "setex": 1, "expire": 1, "getex": "ex"}
IGNORE = "# loom-lint: ignore"  # a deliberate bad sample, e.g. in a test
TOPIC_VARIABLE = re.compile(r"(^|_)topics?(_name)?$", re.IGNORECASE)
SCANNED = ("loom_core", "loom_cli", "ingest_api", "loom_dagster", "bench", "tests")


@dataclass(frozen=True)
class Finding:
    """One rule violation at a place in a file."""

    path: str
    line: int
    col: int
    code: str
    severity: str  # "error" or "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.severity}: {self.message}"


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _strings(node: ast.AST) -> Iterator[ast.Constant]:
    """Yield the string constants in ``node`` (lists and tuples of them too)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.List | ast.Tuple | ast.Set):
        for element in node.elts:
            yield from _strings(element)


def _key_prefix(node: ast.AST) -> str | None:
    """Return the literal start of a Redis key expression (str or f-string)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[Finding] = []
        self.constants: dict[str, int | float] = {}
        self.topic_literals: set[int] = set()  # ids of nodes already judged
        self.consumes: ast.AST | None = None
        self.produces = False

    # -- helpers -----------------------------------------------------------------
    def add(self, node: ast.AST, code: str, severity: str, message: str) -> None:
        self.findings.append(
            Finding(
                self.path, node.lineno, node.col_offset + 1, code, severity, message
            )
        )

    def _judge_topic(self, node: ast.Constant) -> None:
        if id(node) in self.topic_literals:
            return
        self.topic_literals.add(id(node))
        name = node.value
        if not TOPIC_NAME.fullmatch(name):
            self.add(
                node,
                "LOOM001",
                "error",
                f"topic {name!r} breaks the naming rule {TOPIC_NAME.pattern}",
            )
        elif name not in CATALOG:
            self.add(
                node,
                "LOOM002",
                "error",
                f"topic {name!r} is not in the catalog (loom_core/topics.py); "
                "add it there and use the constant",
            )

    def _number(self, node: ast.AST) -> float | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            left, right = self._number(node.left), self._number(node.right)
            if left is not None and right is not None:
                return left * right
        return None

    # -- visitors ----------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        value = self._number(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                if value is not None:
                    self.constants[target.id] = value
                if TOPIC_VARIABLE.search(target.id):
                    for literal in _strings(node.value):
                        self._judge_topic(literal)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value.startswith(CATEGORIES):
            self._judge_topic(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        if name in TOPIC_CALLS and node.args:
            for literal in _strings(node.args[0]):
                self._judge_topic(literal)
        for keyword in node.keywords:
            if keyword.arg in {"topic", "topics"}:
                for literal in _strings(keyword.value):
                    self._judge_topic(literal)
        if name in CONSUME_CALLS and isinstance(node.func, ast.Attribute):
            self.consumes = self.consumes or node
        if name == "produce":
            self.produces = True
        if name in REDIS_TTL_CALLS and isinstance(node.func, ast.Attribute):
            self._check_redis(node, REDIS_TTL_CALLS[name])
        self.generic_visit(node)

    def _check_redis(self, node: ast.Call, ttl_at: str | int) -> None:
        if not node.args:
            return
        prefix = _key_prefix(node.args[0])
        if prefix is None or ":" not in prefix:
            return
        allowed = next((p for p in REDIS_TTL_LIMITS if prefix.startswith(p)), None)
        if allowed is None:
            self.add(
                node,
                "LOOM005",
                "warning",
                f"Redis key {prefix!r}... is not one of the allowed prefixes "
                f"{', '.join(REDIS_TTL_LIMITS)}",
            )
            return
        if isinstance(ttl_at, int):
            ttl_node = node.args[ttl_at] if len(node.args) > ttl_at else None
        else:
            ttl_node = next((k.value for k in node.keywords if k.arg == ttl_at), None)
        ttl = self._number(ttl_node) if ttl_node is not None else None
        if ttl is not None and ttl > REDIS_TTL_LIMITS[allowed]:
            self.add(
                node,
                "LOOM004",
                "warning",
                f"Redis TTL {ttl:g} s for {allowed!r} keys exceeds the limit of "
                f"{REDIS_TTL_LIMITS[allowed]} s",
            )


def check_source(source: str, path: str = "<string>") -> list[Finding]:
    """Return the findings for one Python source text."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        return [
            Finding(
                path,
                exc.lineno or 1,
                exc.offset or 1,
                "LOOM000",
                "error",
                f"cannot parse: {exc.msg}",
            )
        ]
    checker = _Checker(path)
    checker.visit(tree)
    is_service = not path.startswith(("tests/", "bench/"))  # tests consume to verify
    if is_service and checker.consumes is not None and not checker.produces:
        checker.add(
            checker.consumes,
            "LOOM003",
            "warning",
            "this module consumes a topic but produces nothing",
        )
    lines = source.splitlines()
    kept = [f for f in checker.findings if IGNORE not in lines[f.line - 1]]
    return sorted(kept, key=lambda f: (f.line, f.col, f.code))


def python_files(roots: Iterable[Path]) -> Iterator[Path]:
    """Yield the Python files under ``roots`` (files are yielded as they are)."""
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from sorted(p for p in root.rglob("*.py") if ".venv" not in p.parts)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def lint(paths: tuple[Path, ...]) -> None:
    """Check the project rules: topic names, the catalog, Redis TTLs.

    Exits 1 when there is an error; warnings are printed but do not fail.
    """
    roots = list(paths) or [REPO_ROOT / d for d in SCANNED]
    findings = [
        finding
        for path in python_files(roots)
        for finding in check_source(path.read_text(), str(_relative(path)))
    ]
    for finding in findings:
        click.echo(str(finding))
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    click.echo(f"loom lint: {errors} error(s), {warnings} warning(s)", err=True)
    sys.exit(1 if errors else 0)


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(REPO_ROOT)
    except ValueError:
        return path
