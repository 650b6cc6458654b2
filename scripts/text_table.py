"""Plain-text tables for a terminal: the demo prints query results this way instead of Python reprs."""
from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from typing import Any, Sequence

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


class Bytes(int):
    """A byte count: shown as 1.5 MiB, aligned like any other number."""


def human_bytes(size: int) -> str:
    value, unit = float(size), _UNITS[0]
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            break
        value /= 1024
    return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"


def cell(value: Any) -> str:
    """How one value reads in a table: timestamps in UTC to the minute, booleans as yes/no, nothing as '-'."""
    if value is None:
        return "-"
    if isinstance(value, Bytes):
        return human_bytes(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def width(text: str) -> int:
    """Terminal columns `text` takes: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, columns: int, right: bool) -> str:
    padding = " " * (columns - width(text))
    return padding + text if right else text + padding


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "  ") -> str:
    """Columns padded to their widest cell; numbers right-aligned, everything else left-aligned."""
    texts = [[cell(value) for value in row] for row in rows]
    numeric = [all(_is_number(row[i]) for row in rows if row[i] is not None) for i in range(len(headers))]
    widths = [max([width(header), *(width(row[i]) for row in texts)]) for i, header in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        padded = [_pad(v, w, right) for v, w, right in zip(values, widths, numeric)]
        return (indent + "  ".join(padded)).rstrip()

    body = [line(row) for row in texts] or [indent + "(no rows)"]
    return "\n".join([line(headers), indent + "  ".join("-" * w for w in widths), *body])
