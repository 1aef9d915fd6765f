"""Printing as psql prints: aligned tables, expanded records, command tags, server errors.

Values come from the server's own text form (the raw result, not Python objects), so a float8
prints as ``1``, a numeric keeps its scale and arrays, timestamps and bytea look as in psql.
Layouts follow psql's print.c (border 1): centered headers, numbers right-aligned, ``+`` at the
end of each line of a multi-line value but its last, display widths of wide characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import psycopg
from wcwidth import wcswidth

from .errors import Error

# Type OIDs psql right-aligns (print.c column_type_alignment): int2/4/8, oid, xid, xid8, cid, float4/8, numeric, money.
NUMERIC_OIDS = frozenset({20, 21, 23, 26, 28, 5069, 29, 700, 701, 1700, 790})


def _width(text: str) -> int:
    width = wcswidth(text)
    return width if width >= 0 else len(text)  # control characters: count them as one column each


def _ljust(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _rjust(text: str, width: int) -> str:
    return " " * (width - _width(text)) + text


def _center(text: str, width: int) -> str:
    left = (width - _width(text)) // 2  # psql puts the odd space on the right
    return " " * left + text + " " * (width - _width(text) - left)


def python_cell(value: Any) -> str:
    """psql's text for a Python value (results that did not come from the server, e.g. \\?)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (list, tuple)):
        return "{" + ",".join(_array_item(v) for v in value) + "}"
    return str(value)


def _array_item(value: Any) -> str:
    if value is None:
        return "NULL"
    text = python_cell(value)
    if text == "" or any(c in text for c in ' ,{}"\\'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def format_table(names: Sequence[str], numeric: Sequence[bool], rows: Iterable[Sequence[str | None]],
                 *, title: str | None = None, footer: bool = True) -> str:
    """Rows (texts, None for NULL) in psql's aligned format, multi-line cells included."""
    cells = [[("" if v is None else v).split("\n") for v in row] for row in rows]
    widths = [max([_width(n)] + [_width(line) for r in cells for line in r[i]]) for i, n in enumerate(names)]
    out = []
    if title:
        total = sum(widths) + 3 * len(widths) - 1
        out.append(_center(title, total).rstrip() if _width(title) < total else title)
    out += [" " + " | ".join(_center(n, w) for n, w in zip(names, widths, strict=True)) + " ",
            "-" + "-+-".join("-" * w for w in widths) + "-"]
    last = len(names) - 1
    for row in cells:
        for k in range(max(len(lines) for lines in row) if row else 0):
            parts = []
            for i, (lines, w, num) in enumerate(zip(row, widths, numeric, strict=True)):
                if k >= len(lines):  # this cell has no more lines: psql pads all but the last column
                    parts.append(" " + (" " * w + " " if i != last else ""))
                    continue
                text, more = lines[k], k < len(lines) - 1
                if i == last and not more and not num:
                    parts.append(" " + text)  # psql does not pad a left-aligned last cell
                else:
                    cell = _rjust(text, w) if num else _ljust(text, w)
                    parts.append(" " + cell + ("+" if more else (" " if i != last else "")))
            out.append("|".join(parts))
    if footer:
        out.append(f"({len(cells)} row{'' if len(cells) == 1 else 's'})")
    return "\n".join(out) + "\n"


def _record_rule(record: int, hwidth: int, dwidth: int) -> str:
    """psql's ``-[ RECORD n ]---+----`` line (print_aligned_vertical_line, border 1)."""
    line = "-" + f"[ RECORD {record} ]"
    reclen = len(line)
    line += "-" * max(0, hwidth - reclen)
    reclen -= hwidth
    for mark in "-+-":
        if reclen <= 0:
            line += mark
        reclen -= 1
    return line + "-" * max(0, dwidth - max(reclen, 0))


def format_expanded(names: Sequence[str], rows: Iterable[Sequence[str | None]]) -> str:
    """Rows in psql's expanded format (``\\x``); no rows prints ``(0 rows)``."""
    cells = [[("" if v is None else v).split("\n") for v in row] for row in rows]
    if not cells:
        return "(0 rows)\n"
    hwidth = max(_width(n) for n in names)
    dwidth = max(_width(line) for row in cells for lines in row for line in lines)
    out = []
    for number, row in enumerate(cells, 1):
        out.append(_record_rule(number, hwidth, dwidth))
        for name, lines in zip(names, row, strict=True):
            for k, text in enumerate(lines):
                label = _ljust(name if k == 0 else "", hwidth)
                more = k < len(lines) - 1
                out.append(f"{label} | {_ljust(text, dwidth) + '+' if more else text}")
    return "\n".join(out) + "\n"


@dataclass
class ResultSet:
    """A result to print: column names, right-alignment per column, texts (None: NULL)."""

    names: list[str]
    numeric: list[bool]
    rows: list[list[str | None]]


def server_rows(cur: psycopg.Cursor[Any]) -> ResultSet | None:
    """The current result of ``cur`` in the server's text form (None when it returned no rows)."""
    res = cur.pgresult
    if cur.description is None or res is None:
        return None
    encoding = cur.connection.info.encoding
    names = [c.name for c in cur.description]
    numeric = [c.type_code in NUMERIC_OIDS for c in cur.description]
    if any(res.fformat(j) != 0 for j in range(res.nfields)):  # a binary cursor: print Python values
        return ResultSet(names, numeric, [[None if v is None else python_cell(v) for v in row] for row in cur.fetchall()])
    rows = []
    for i in range(res.ntuples):
        row: list[str | None] = []
        for j in range(res.nfields):
            value = res.get_value(i, j)
            row.append(None if value is None else bytes(value).decode(encoding, errors="replace"))
        rows.append(row)
    return ResultSet(names, numeric, rows)


def print_rows(result: ResultSet, out: TextIO, *, expanded: bool = False, title: str | None = None,
               footer: bool = True) -> None:
    if expanded:
        out.write(format_expanded(result.names, result.rows) + "\n")
    else:
        out.write(format_table(result.names, result.numeric, result.rows, title=title, footer=footer) + "\n")


def print_result(cur: psycopg.Cursor[Any], out: TextIO, *, expanded: bool = False) -> None:
    """What psql prints after a statement: its rows, or its command tag."""
    result = server_rows(cur)
    if result is not None:
        print_rows(result, out, expanded=expanded)
    elif cur.statusmessage:
        out.write(cur.statusmessage + "\n")


def report_error(exc: BaseException, err: TextIO) -> None:
    """An error as psql prints it: the server's message with LINE/caret, DETAIL, HINT, CONTEXT."""
    if isinstance(exc, psycopg.Error) and exc.pgresult is not None and exc.pgresult.error_message:
        # libpq formats it exactly as psql shows it (psql prints the same libpq text)
        message = exc.pgresult.error_message.decode(errors="replace")
        err.write(message if message.endswith("\n") else message + "\n")
    elif isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        err.write(f"{exc.diag.severity or 'ERROR'}:  {exc.diag.message_primary}\n")
        if exc.diag.message_detail:
            err.write(f"DETAIL:  {exc.diag.message_detail}\n")
        if exc.diag.message_hint:
            err.write(f"HINT:  {exc.diag.message_hint}\n")
    elif isinstance(exc, Error):
        err.write(f"ERROR:  {exc}\n")
        if exc.detail:
            err.write(f"DETAIL:  {exc.detail}\n")
        if exc.hint:
            err.write(f"HINT:  {exc.hint}\n")
    else:
        err.write(f"ERROR:  {one_line(str(exc))}\n")


def one_line(message: str) -> str:
    """The informative line of a (possibly multi-line) libpq message."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return message
    return lines[0].removeprefix("connection failed: ")
