"""Expand a panel's SQL the way Grafana and the ClickHouse data source plugin do, so tests can
run every query against ClickHouse without a Grafana server. Checked against the plugin's 4.20.0
source (``src/data/CHDatasource.ts`` for the front end, ``pkg/macros/macros.go`` for the back end).

The order is the plugin's:
1. front end: ``$__conditionalAll(condition, $var)`` becomes ``1=1`` when the variable is
   empty or "All" (``$__all``), else the condition (innermost-last, scanning from the end);
2. front end: template variables are replaced — a multi-value becomes ``'a','b'`` (the
   plugin's format function), a single value is inserted as is; ``$__from``/``$__to`` are
   epoch milliseconds; ``$__interval_ms`` the interval;
3. back end (Go): ``$__timeFilter(col)`` → ``col >= toDateTime(s) AND col <= toDateTime(s)``,
   ``$__timeFilter_ms`` with ``fromUnixTimestamp64Milli(ms)``, ``$__fromTime``/``$__toTime``
   (``toDateTime(s)``), their ``_ms`` forms, ``$__dateFilter(col)`` (``toDate('YYYY-MM-DD')``),
   ``$__dateTimeFilter(date, time)``/``$__dt``, ``$__timeInterval(col)`` →
   ``toStartOfInterval(toDateTime(col), INTERVAL n second)``, ``$__timeInterval_ms``,
   ``$__interval_s`` → ``n`` (at least 1), ``$__timeFrom(col)`` → ``col >= toDateTime(s)``,
   ``$__timeTo(col)`` → ``col <= toDateTime(s)``, ``$__timeGroup(col, 5m)`` →
   ``toStartOfInterval(toDateTime(col), INTERVAL 300 second)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

ALL = "$__all"
VarValue = str | Sequence[str]


@dataclass(frozen=True, kw_only=True)
class QueryContext:
    start: datetime
    end: datetime
    interval_s: float = 60.0
    variables: Mapping[str, VarValue] = field(default_factory=dict)
    # values offered by each variable, used when "All" is selected without a custom all value
    options: Mapping[str, Sequence[str]] = field(default_factory=dict)


def _macro_args(sql: str, open_paren: int) -> tuple[list[str], int] | None:
    """Split the arguments of the call whose '(' is at ``open_paren`` on top-level commas.
    Returns (args, index after the closing paren)."""
    depth, start, args = 0, open_paren + 1, []
    for i in range(open_paren, len(sql)):
        ch = sql[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append(sql[start:i])
                return args, i + 1
        elif ch == "," and depth == 1:
            args.append(sql[start:i])
            start = i + 1
    return None


_VAR_IN_ARG = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def apply_conditional_all(sql: str, ctx: QueryContext) -> str:
    macro = "$__conditionalAll("
    idx = sql.rfind(macro)
    while idx != -1:
        parsed = _macro_args(sql, idx + len(macro) - 1)
        if parsed is None or len(parsed[0]) != 2:
            return sql
        (condition, var_arg), end = parsed
        phrase = condition
        m = _VAR_IN_ARG.search(var_arg.strip())
        if m:
            value = ctx.variables.get(m.group(1) or m.group(2), "")
            text = value if isinstance(value, str) else ",".join(value)
            if text in ("", ALL):
                phrase = "1=1"
        sql = sql[:idx] + phrase + sql[end:]
        idx = sql.rfind(macro)
    return sql


def _format(value: VarValue) -> str:
    if isinstance(value, str):
        return value
    return "'" + "','".join(value) + "'"


def replace_variables(sql: str, ctx: QueryContext) -> str:
    builtins = {
        "__from": str(int(ctx.start.timestamp() * 1000)),
        "__to": str(int(ctx.end.timestamp() * 1000)),
        "__interval_ms": str(int(ctx.interval_s * 1000)),
    }

    def value_of(name: str) -> str | None:
        if name in builtins:
            return builtins[name]
        if name not in ctx.variables:
            return None
        v = ctx.variables[name]
        if v == ALL or (not isinstance(v, str) and list(v) == [ALL]):
            v = list(ctx.options.get(name, ()))
        return _format(v)

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        got = value_of(name)
        return m.group(0) if got is None else got

    # ${name}, ${name:format} (format ignored: the plugin formats values itself), [[name]], $name
    return re.sub(
        r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(?!__(?:timeFilter|fromTime|toTime|dateFilter|dateTimeFilter|"
        r"dt|timeInterval|interval_s|conditionalAll|timeFrom|timeTo|timeGroup)\b)(\w+)",
        sub,
        sql,
    )


def _dt(t: datetime) -> str:
    return f"toDateTime({int(t.timestamp())})"


def _dt64(t: datetime) -> str:
    return f"fromUnixTimestamp64Milli({int(t.timestamp() * 1000)})"


def _date(t: datetime) -> str:
    return f"toDate('{t.astimezone(UTC).strftime('%Y-%m-%d')}')"


BACKEND_MACROS = (
    "timeFilter_ms",
    "timeFilter",
    "dateTimeFilter",
    "dateFilter",
    "dt",
    "timeInterval_ms",
    "timeInterval",
    "fromTime_ms",
    "toTime_ms",
    "fromTime",
    "toTime",
    "interval_s",
    "timeFrom",
    "timeTo",
    "timeGroup",
)
_ARITY = {
    "timeFilter": 1,
    "timeFilter_ms": 1,
    "dateFilter": 1,
    "dateTimeFilter": 2,
    "dt": 2,
    "timeInterval": 1,
    "timeInterval_ms": 1,
    "timeFrom": 1,
    "timeTo": 1,
    "timeGroup": 2,
}
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def _backend_macro(name: str, args: list[str], ctx: QueryContext) -> str:
    s, e = ctx.start, ctx.end
    want = _ARITY.get(name, 0)
    if want and len(args) != want:
        raise ValueError(f"$__{name}: expected {want} argument(s), received {len(args)}")
    a = [x.strip() for x in args]
    if name == "timeFilter":
        return f"{a[0]} >= {_dt(s)} AND {a[0]} <= {_dt(e)}"
    if name == "timeFilter_ms":
        return f"{a[0]} >= {_dt64(s)} AND {a[0]} <= {_dt64(e)}"
    if name == "dateFilter":
        return f"{a[0]} >= {_date(s)} AND {a[0]} <= {_date(e)}"
    if name in ("dateTimeFilter", "dt"):
        return f"({a[0]} >= {_date(s)} AND {a[0]} <= {_date(e)}) AND ({a[1]} >= {_dt(s)} AND {a[1]} <= {_dt(e)})"
    if name == "timeInterval":
        return f"toStartOfInterval(toDateTime({a[0]}), INTERVAL {max(int(ctx.interval_s), 1)} second)"
    if name == "timeInterval_ms":
        return f"toStartOfInterval(toDateTime64({a[0]}, 3), INTERVAL {max(int(ctx.interval_s * 1000), 1)} millisecond)"
    if name == "interval_s":
        return str(max(int(ctx.interval_s), 1))
    if name == "timeFrom":
        return f"{a[0]} >= {_dt(s)}"
    if name == "timeTo":
        return f"{a[0]} <= {_dt(e)}"
    if name == "timeGroup":
        period = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", a[1].strip("'\" "))
        if period is None:
            raise ValueError(f"$__timeGroup: invalid interval {a[1]!r}")
        secs = round(float(period.group(1)) * _UNITS[period.group(2)])
        if secs <= 0:
            raise ValueError(f"$__timeGroup: interval must be positive, got {a[1]!r}")
        return f"toStartOfInterval(toDateTime({a[0]}), INTERVAL {secs} second)"
    return {"fromTime": _dt(s), "toTime": _dt(e), "fromTime_ms": _dt64(s), "toTime_ms": _dt64(e)}[name]


_BACKEND = re.compile(r"\$__(" + "|".join(BACKEND_MACROS) + r")\b")


def apply_backend_macros(sql: str, ctx: QueryContext) -> str:
    out, pos = [], 0
    for m in _BACKEND.finditer(sql):
        if m.start() < pos:
            continue  # inside the arguments of a macro already expanded
        args: list[str] = []
        end = m.end()
        if end < len(sql) and sql[end] == "(":
            parsed = _macro_args(sql, end)
            if parsed is None:
                raise ValueError(f"$__{m.group(1)}: unbalanced parentheses")
            args, end = parsed
            if args == [""]:
                args = []
        out += [sql[pos : m.start()], _backend_macro(m.group(1), args, ctx)]
        pos = end
    out.append(sql[pos:])
    return "".join(out)


def expand(sql: str, ctx: QueryContext) -> str:
    """Front end, then back end, as the plugin runs them."""
    return apply_backend_macros(replace_variables(apply_conditional_all(sql, ctx), ctx), ctx)


# Grafana rounds a panel's interval (range / max data points) up to one of these, in seconds.
_NICE = (1, 5, 10, 15, 20, 30, 60, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800)


def nice_interval(range_s: float, max_points: int = 200) -> float:
    """The ``$__interval`` Grafana would pick for a range shown as ``max_points`` points: whole
    minutes and hours, so buckets start on the clock (not at 22:45:36)."""
    raw = range_s / max_points
    return float(next((n for n in _NICE if n >= raw), _NICE[-1]))


def titled(text: str, variables: Mapping[str, VarValue]) -> str:
    """A panel title with its variables as Grafana shows them (``$model`` → ``linear``)."""

    def value(m: re.Match[str]) -> str:
        v = variables.get(m.group(1) or m.group(2))
        if v is None:
            return m.group(0)
        values = [v] if isinstance(v, str) else list(v)
        return ", ".join("All" if x == ALL else str(x) for x in values)

    return _VAR_IN_ARG.sub(value, text)
