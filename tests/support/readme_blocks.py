"""The README's code blocks that a test runs as written, found by a marker in the fence's info string.

A shell block to run carries `readme-test=<order>` after its language (```` ```sh readme-test=20 ````): the README
test runs every such block in a fresh clone, in ascending order, each in its own `bash -e`, so the sections can move
freely while the steps keep their order (setup before sync before queries). A SQL block of examples for the
destination carries `readme-test=query` (```` ```sql readme-test=query ````): each statement in it runs against the
warehouse the shell blocks wrote, with its table names put in the local schema. GitHub and other renderers read only
the first word of an info string, so the marker never shows.

Pure functions over the README's text, so that a marker lost in an edit fails a unit test at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = "readme-test"
QUERY = "query"
# A fence opening with an info string, its body, and the closing fence (the README's fences are never nested).
_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
# A table of this connector after FROM or JOIN, under either naming (s3_objects or s_3_objects, and the versions).
_TABLE = re.compile(r"\b(FROM|JOIN)(\s+)(s_?3_object(?:_version)?s)\b", re.IGNORECASE)
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)
_TITLE = re.compile(r"^--\s*(.+?)\s*$", re.MULTILINE)


class MarkerError(ValueError):
    """A marker the README test cannot follow: two blocks with one order, or a value it does not know."""


@dataclass(frozen=True)
class Block:
    language: str
    marker: str | None
    body: str
    line: int  # where the block's opening fence is, counting from 1

    @property
    def order(self) -> int:
        return int(self.marker or "")


def blocks(text: str) -> list[Block]:
    """Every fenced block of `text`, in order, with its language and `readme-test` value (None without one)."""
    found = []
    for match in _FENCE.finditer(text):
        words = match["info"].split()
        marker = next((w.split("=", 1)[1] for w in words[1:] if w.startswith(MARKER + "=")), None)
        found.append(Block(words[0] if words else "", marker, match["body"], text.count("\n", 0, match.start()) + 1))
    return found


def shell_steps(text: str) -> list[Block]:
    """The shell blocks to run, in the order their markers give."""
    steps = [b for b in blocks(text) if b.marker is not None and b.marker != QUERY]
    for step in steps:
        if not step.marker.isdigit():
            raise MarkerError(f"README line {step.line}: {MARKER}={step.marker} is neither a number nor {QUERY!r}")
    orders = [s.order for s in steps]
    repeated = sorted({o for o in orders if orders.count(o) > 1})
    if repeated:
        raise MarkerError(f"README: {MARKER}={repeated[0]} marks two blocks; each shell step needs its own order")
    return sorted(steps, key=lambda s: s.order)


def queries(text: str) -> list[tuple[str, str]]:
    """(title, statement) of every statement in the SQL blocks marked as queries; the title is the statement's
    leading `-- ...` comment (or its first line)."""
    statements = []
    for block in blocks(text):
        if block.marker != QUERY:
            continue
        for part in _STATEMENT_END.split(block.body):
            sql = part.strip()
            if not sql:
                continue
            title = _TITLE.match(sql)
            statements.append((title[1] if title else sql.splitlines()[0], sql))
    return statements


def for_local_warehouse(sql: str, schema: str) -> str:
    """`sql`, written for the destination, with this connector's tables put in `schema` (`tester` for the warehouse
    `fivetran debug` writes)."""
    return _TABLE.sub(lambda m: f"{m[1]}{m[2]}{schema}.{m[3]}", sql)
