"""Parameters of SQL files: the ``@param`` header and ``:name`` placeholders.

A file declares each parameter in a header comment line::

    -- @param device_id varchar = null   the device; every device when null
    -- @param start_day date              first UTC day, inclusive (required)
    -- @param top_n     bigint = 10       terms kept per day
    -- @param end_day   date = (current_date)  last UTC day, inclusive

and uses it as ``:device_id`` anywhere in the query (not inside strings, quoted
identifiers or comments). A parameter without ``= default`` is required; ``= null``
makes it optional with a typed NULL; a default in parentheses is a SQL expression
(``(current_date)``) the file's author wrote, used as it is.
``loom sql FILE --param name=value`` checks each value against its type and binds
it as a typed SQL literal, so a value can never change the shape of the query. A
placeholder with no ``@param`` line (in an ad-hoc query) is a required ``varchar``.

Binding changes column positions on a line; :class:`Bound` maps a position Trino
reports in the bound text back to the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

PARAM_LINE = re.compile(
    r"^\s*--\s*@param\s+(?P<name>[A-Za-z_]\w*)\s+(?P<type>[a-z]+)(?P<rest>.*)$"
)
PLACEHOLDER = re.compile(r"(?<![\w:]):(?P<name>[A-Za-z_]\w*)")
TRUE = {"true", "t", "yes", "y", "1", "on"}
FALSE = {"false", "f", "no", "n", "0", "off"}


class ParamError(ValueError):
    """A parameter is missing, unknown, malformed or badly declared."""


def _quote(text: str) -> str:
    """Return a SQL string literal; control characters become Unicode escapes."""
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    escaped = "".join(
        ch * 2 if ch in "'\\" else ch if ch.isprintable() else f"\\+{ord(ch):06X}"
        for ch in text
    )
    return f"U&'{escaped}'"


def _date(value: str) -> str:
    try:
        return f"DATE '{date.fromisoformat(value).isoformat()}'"
    except ValueError:
        msg = "is not a date; use YYYY-MM-DD"
        raise ParamError(msg) from None


def _timestamp(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        msg = "is not a timestamp; use ISO 8601, e.g. 2024-05-01T12:00:00Z"
        raise ParamError(msg) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # documented: a naive time is UTC
    text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"TIMESTAMP '{text} UTC'"


def _integer(sql_type: str) -> Callable[[str], str]:
    def render(value: str) -> str:
        try:
            return f"{sql_type.upper()} '{int(value.strip())}'"
        except ValueError:
            msg = "is not a whole number"
            raise ParamError(msg) from None

    return render


def _double(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        msg = "is not a number"
        raise ParamError(msg) from None
    if number != number or number in {float("inf"), float("-inf")}:  # noqa: PLR0124
        msg = "must be a finite number"
        raise ParamError(msg)
    return f"DOUBLE '{number!r}'"


def _boolean(value: str) -> str:
    lowered = value.strip().lower()
    if lowered in TRUE:
        return "true"
    if lowered in FALSE:
        return "false"
    msg = "is not a boolean; use true or false"
    raise ParamError(msg)


# declared type -> (literal renderer, the SQL type of its NULL)
TYPES: dict[str, tuple[Callable[[str], str], str]] = {
    "varchar": (_quote, "varchar"),
    "date": (_date, "date"),
    "timestamp": (_timestamp, "timestamp(6) with time zone"),
    "bigint": (_integer("bigint"), "bigint"),
    "integer": (_integer("integer"), "integer"),
    "double": (_double, "double"),
    "boolean": (_boolean, "boolean"),
}


@dataclass(frozen=True)
class Param:
    """One declared parameter.

    Parameters
    ----------
    name
        Used as ``:name`` in the query and ``--param name=value`` on the command line.
    type
        One of :data:`TYPES`.
    default
        The value used when none is given (``"null"`` for a typed NULL); ``None``
        makes the parameter required.
    description
        What the value means, shown by ``loom sql --list``.
    """

    name: str
    type: str = "varchar"
    default: str | None = None
    description: str = ""

    @property
    def required(self) -> bool:
        """True when the caller must give a value."""
        return self.default is None

    def literal(self, value: str | None) -> str:
        """Return the SQL literal of ``value`` (the default when None).

        Raises
        ------
        ParamError
            When the value does not fit the type, or a required value is missing.
        """
        if value is None:
            if self.default is None:
                msg = f"missing --param {self.name}=<{self.type}>"
                raise ParamError(msg)
            value = self.default
            if value.lower() == "null":
                return f"CAST(NULL AS {TYPES[self.type][1]})"
            if value.startswith("("):
                return value  # a SQL expression chosen by the file's author
        render = TYPES[self.type][0]
        try:
            return render(value)
        except ParamError as exc:
            msg = f"--param {self.name}={value!r} {exc}"
            raise ParamError(msg) from None

    def usage(self) -> str:
        """Return a one-line summary, e.g. ``start_day date (required)``."""
        default = "required" if self.default is None else f"default {self.default}"
        text = f"{self.name} {self.type} ({default})"
        return f"{text}: {self.description}" if self.description else text


def declared_params(sql: str) -> dict[str, Param]:
    """Return the parameters declared by ``@param`` comment lines, in order.

    Raises
    ------
    ParamError
        For an unknown type or a parameter declared twice.
    """
    params: dict[str, Param] = {}
    for number, line in enumerate(sql.splitlines(), start=1):
        match = PARAM_LINE.match(line)
        if not match:
            continue
        name, sql_type = match["name"], match["type"]
        if sql_type not in TYPES:
            known = ", ".join(TYPES)
            msg = (
                f"line {number}: @param {name} has unknown type {sql_type!r} ({known})"
            )
            raise ParamError(msg)
        if name in params:
            msg = f"line {number}: @param {name} is declared twice"
            raise ParamError(msg)
        default, description = _split_default(match["rest"])
        params[name] = Param(name, sql_type, default, description)
    return params


def _split_default(rest: str) -> tuple[str | None, str]:
    """Split ``= default  description`` into its parts (no ``=``: no default)."""
    rest = rest.strip()
    if not rest.startswith("="):
        return None, rest
    rest = rest[1:].lstrip()
    if not rest.startswith("("):
        default, _, description = rest.partition(" ")
        return default, description.strip()
    depth = 0
    for i, ch in enumerate(rest):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            return rest[: i + 1], rest[i + 1 :].strip()
    msg = f"unbalanced parentheses in the default {rest!r}"
    raise ParamError(msg)


def code_spans(sql: str) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of the text outside strings, quoted names and comments."""
    pos, start, size = 0, 0, len(sql)
    closers = {"'": "'", '"': '"', "--": "\n", "/*": "*/"}
    while pos < size:
        opener = next(
            (o for o in ("--", "/*", "'", '"') if sql.startswith(o, pos)), None
        )
        if opener is None:
            pos += 1
            continue
        if pos > start:
            yield start, pos
        closer = closers[opener]
        end = sql.find(closer, pos + len(opener))
        # '' and "" inside a literal are escaped quotes, not its end
        while end != -1 and closer in "'\"" and sql.startswith(closer * 2, end):
            end = sql.find(closer, end + 2)
        pos = size if end == -1 else end + len(closer)
        start = pos
    if start < size:
        yield start, size


def placeholders(sql: str) -> list[re.Match[str]]:
    """Return the ``:name`` placeholders of the query, in order."""
    found = []
    for start, end in code_spans(sql):
        found.extend(PLACEHOLDER.finditer(sql, start, end))
    return found


def strip_terminator(sql: str) -> str:
    """Blank out a final ``;`` (Trino takes one statement without it).

    The text keeps its length, so positions in errors still match the file.
    """
    spans = [(s, e) for s, e in code_spans(sql) if sql[s:e].strip()]
    last = spans[-1][1] if spans else 0
    code = sql[:last].rstrip()
    if code.endswith(";"):
        return code[:-1] + " " + sql[len(code) :]
    return sql


@dataclass(frozen=True)
class Bound:
    """A query with its parameters replaced by literals.

    Parameters
    ----------
    text
        The SQL sent to Trino.
    shifts
        Per line (1-based), the replacements made on it: ``(column, old, new)``
        with the 1-based column of the placeholder and both lengths.
    """

    text: str
    shifts: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)

    def original_position(self, line: int, column: int) -> tuple[int, int]:
        """Map a 1-based position in :attr:`text` back to the unbound query."""
        offset = 0
        for start, old, new in self.shifts.get(line, []):
            bound_start = start + offset
            if column < bound_start:
                break
            if column < bound_start + new:
                return line, start  # inside a literal: point at its placeholder
            offset += new - old
        return line, column - offset


def bind(sql: str, values: Mapping[str, str]) -> Bound:
    """Replace every ``:name`` of ``sql`` by the literal of its value.

    Raises
    ------
    ParamError
        For a value given for no parameter of the query, a missing required value,
        or a value that does not fit its declared type.
    """
    sql = strip_terminator(sql)
    declared = declared_params(sql)
    found = placeholders(sql)
    params = dict(declared)
    for match in found:
        params.setdefault(match["name"], Param(match["name"]))
    unknown = sorted(set(values) - set(params))
    if unknown:
        takes = ", ".join(params) or "no parameters"
        msg = f"unknown parameter {', '.join(unknown)}; the query takes {takes}"
        raise ParamError(msg)
    literals = {name: p.literal(values.get(name)) for name, p in params.items()}
    pieces, shifts, last = [], {}, 0
    for match in found:
        literal = literals[match["name"]]
        pieces += [sql[last : match.start()], literal]
        line = sql.count("\n", 0, match.start()) + 1
        column = match.start() - (sql.rfind("\n", 0, match.start()) + 1) + 1
        shifts.setdefault(line, []).append((column, len(match[0]), len(literal)))
        last = match.end()
    pieces.append(sql[last:])
    return Bound("".join(pieces), shifts)


def summary(sql: str) -> str:
    """Return the first line of the header comment (what the query answers)."""
    for line in sql.splitlines():
        text = line.strip()
        if not text:
            continue
        if not text.startswith("--"):
            break
        text = text.lstrip("-").strip()
        if text and not text.startswith("@"):
            return text
    return ""
