"""Planning N key-range slices of about equal object counts: pure, no S3 here (scripts/propose_slices.py lists).

Two sources of counts:

- Every key, sorted (an inventory report, or a survey that listed everything within its budget): `plan_from_keys`
  cuts them into N runs of equal size (±1), each boundary between the last key of a run and the first of the next.
  The counts are exact.
- A survey of the bucket's listing (`Survey`), for buckets the request budget cannot list. S3 cannot count keys
  without listing them, so the survey lists a tree of prefixes, one character deeper at a time. Expanding a prefix
  lists it one child (next character) at a time: a page of 1,000 keys counts exactly every child that ends inside
  it, and the next request skips the rest of the child the page ends in (StartAfter just below the next child's
  start), so a prefix costs about one request per child too large for a page, whatever its size. A child not
  expanded yet is estimated as the mean of its expanded siblings (or, when it has none, of the expanded prefixes of
  its length), and never below what its page showed. While the budget lasts, the prefix with the largest estimate
  is expanded next; when the budget suffices for the whole bucket every prefix ends exactly counted. A bucket that a
  half of the budget lists page after page (250,000 keys at the default 500 requests) is simply listed first.

Accuracy: exact when the survey listed everything (the printout says so). Otherwise the plan rests on prefixes of the
same length under the same parent (folders of one level, hex digits of hashed names, days of a month) holding about
as many keys as those expanded. Measured on synthetic buckets of 0.3 to 3.6 million keys (4 slices): hashed names
and date folders of sizes varying 1 to 7 put every slice within 10% of its share at 200 to 1,000 requests; tenant
folders whose sizes grow 15% from one to the next (1 to 1,000 over 50 folders) put one slice at 1.4 to 3.3 times its
share (a larger budget, or an inventory report, is the remedy there). The printed counts are marked '~' and are rough: they extrapolate
only from the prefixes expanded and never above what a prefix not expanded showed, so with a budget far below the
bucket's pages they can be low by a large factor even when the slices are balanced (an inventory report gives exact
counts). Nothing here can make slices overlap or leave a gap: the boundaries are strictly increasing strings, each
slice ends where the next begins, the first starts at the configured start (or the first key) and the last ends at
the configured end (or the last key). An unbalanced plan costs time, never correctness, and moving a boundary later
re-sends only the key ranges around it (see docs/key-range-split.md).

Boundaries are short and readable: between two listed keys the shortest string after the first and not after the
second (`separator`: 'logs/2024-07' between 'logs/2024-06-30/z' and 'logs/2024-07-01/a'), never ending in whitespace
(the connector strips configuration values; a boundary that would begin with whitespace, next to keys that do, is
the one case the configuration cannot hold as printed); elsewhere the start of a prefix ('logs/2023-07').
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Callable, Iterator, Sequence

from s3_metadata.key_range import WHOLE, KeyRange, just_below, prefix_end

# A survey first tries a plain listing with this share (1/n) of its budget.
IN_ORDER_SHARE = 2
# A boundary may move by this share of a slice's keys (at most MAX_SLACK keys) to be shorter.
SLACK = 0.01
MAX_SLACK = 2000
# One page of a listing: the keys listed after a StartAfter (in order, all of them, also those the filter drops) and
# whether the listing goes on after them.
Lister = Callable[[str, str | None], tuple[list[str], bool]]


@dataclass(frozen=True)
class Slice:
    """key_range_start / key_range_end of one connection (None: the first / last key) and its object count."""

    start: str | None
    end: str | None
    objects: float
    exact: bool


def _common(first: str, second: str) -> int:
    length = 0
    for a, b in zip(first, second):
        if a != b:
            break
        length += 1
    return length


def separator(before: str, after: str) -> str:
    """The shortest string s with before < s <= after that does not end with whitespace (when `after` does not)."""
    for length in range(_common(before, after) + 1, len(after) + 1):
        if not after[length - 1].isspace():
            return after[:length]
    return after


def shortest_separator(keys: Sequence[str], index: int, slack: int) -> str:
    """The shortest separator between keys[i - 1] and keys[i] for i within `slack` of `index` (0 < i < len(keys)),
    the nearest to `index` among equals: a folder boundary ('logs/2024-03') rather than one inside a file name
    ('logs/2024-03-03/part-1') when moving by at most `slack` keys allows it."""
    best: tuple[int, int, str] | None = None
    for position in range(max(1, index - slack), min(len(keys) - 1, index + slack) + 1):
        candidate = separator(keys[position - 1], keys[position])
        rank = (len(candidate), abs(position - index), candidate)
        if best is None or rank < best:
            best = rank
    assert best is not None
    return best[2]


def _slices(boundaries: list[str], counts: list[float], exact: bool, key_range: KeyRange) -> list[Slice]:
    points: list[str | None] = [key_range.start, *boundaries, key_range.end]
    return [Slice(start, end, count, exact) for (start, end), count in zip(pairwise(points), counts)]


def plan_from_keys(keys: Sequence[str], parts: int, key_range: KeyRange = WHOLE) -> list[Slice]:
    """At most `parts` slices of the sorted, distinct `keys` (all inside `key_range`) with equal counts (within SLACK
    of a slice, for shorter boundaries); fewer when there are fewer keys than parts."""
    boundaries: list[str] = []
    slack = min(MAX_SLACK, int(SLACK * len(keys) / parts))
    for number in range(1, parts):
        index = round(number * len(keys) / parts)
        if 0 < index < len(keys):
            boundary = shortest_separator(keys, index, slack)
            if not boundaries or boundary > boundaries[-1]:
                boundaries.append(boundary)
    cuts = [0, *(bisect_left(keys, b) for b in boundaries), len(keys)]
    return _slices(boundaries, [float(b - a) for a, b in pairwise(cuts)], True, key_range)


@dataclass
class Node:
    """The keys that start with `prefix`. `exact`: every one of them was listed (`keys` holds those the filter keeps);
    otherwise `keys` holds the kept ones of the first page that showed it, until it is expanded into `children`
    (one per next character, in key order; `own`: the prefix itself is a kept key)."""

    prefix: str
    parent: Node | None = field(default=None, repr=False)
    exact: bool = False
    keys: list[str] = field(default_factory=list)
    children: list[Node] | None = None
    own: bool = False

    @property
    def expanded(self) -> bool:
        return self.children is not None

    @property
    def depth(self) -> int:
        return len(self.prefix)


class Survey:
    """Counts, or estimates, the keys under the list prefixes with about `budget` LIST requests (see the module
    docstring): a tree of prefixes, one character at a time, grown where the estimated counts are largest."""

    def __init__(self, lister: Lister, prefixes: Sequence[str], keep: Callable[[str], bool], key_range: KeyRange,
                 budget: int):
        self.lister, self.keep, self.key_range, self.budget = lister, keep, key_range, budget
        self.requests = 0
        self.roots = [Node(prefix) for prefix in sorted(prefixes) if key_range.reaches(prefix)]

    # -- listing
    def run(self) -> Survey:
        """A plain listing when half of the budget lists everything (exact, at the cost of a listing); else expand
        the prefix with the largest estimate until the budget is spent or everything is counted."""
        if self._list_in_order(self.budget // IN_ORDER_SHARE):
            return self
        for root in self.roots:
            self._expand(root)
        while self.requests < self.budget:
            estimates = self._estimates()
            waiting = [n for n in self._nodes() if not n.exact and not n.expanded]
            if not waiting:
                break
            self._expand(max(waiting, key=lambda n: estimates[id(n)]))
        return self

    def _list_in_order(self, limit: int) -> bool:
        """List every prefix page after page (StartAfter the last key listed) within `limit` requests; whether that
        was all of them (the roots are then exact)."""
        found: list[list[str]] = []
        for root in self.roots:
            keys: list[str] = []
            after = just_below(root.prefix) if root.prefix else None
            while True:
                if self.requests >= limit:
                    return False
                listed, more = self.lister(root.prefix, after)
                self.requests += 1
                keys.extend(k for k in listed if self.keep(k))
                if not more or not listed:
                    break
                after = listed[-1]
            found.append(keys)
        for root, keys in zip(self.roots, found):
            root.exact, root.keys = True, keys
        return True

    def _expand(self, node: Node) -> None:
        """List the node's keys one child at a time: a page shows every child that ends inside it exactly, and the
        next request skips the rest of the child the page ends in (StartAfter just below the next child's start)."""
        children: dict[str, Node] = {}
        own = False
        prefix = node.prefix
        after = just_below(prefix) if prefix else None
        while True:
            listed, more = self.lister(prefix, after)
            self.requests += 1
            groups: dict[str, list[str]] = {}
            for key in listed:
                if key == prefix:
                    own = self.keep(key)
                else:
                    groups.setdefault(key[len(prefix)], []).append(key)
            for position, (char, keys) in enumerate(groups.items()):
                child = children.setdefault(char, Node(prefix + char, node))
                child.keys = [k for k in keys if self.keep(k)]
                # Complete when the page goes on past it, or ends the listing; nothing to count outside the range.
                child.exact = not more or position < len(groups) - 1 or not self.key_range.reaches(child.prefix)
            if not more or not groups:
                break
            following = prefix_end(prefix + list(groups)[-1])
            if following is None:
                break
            after = just_below(following)
        node.children = list(children.values())
        node.own = own
        self._settle(node)

    @staticmethod
    def _settle(node: Node | None) -> None:
        """Mark exact the node, and its ancestors, once all of their children are."""
        while node is not None and node.children is not None and all(c.exact for c in node.children):
            node.exact = True
            node.keys = ([node.prefix] if node.own else []) + [k for c in node.children for k in c.keys]
            node = node.parent

    def _nodes(self) -> Iterator[Node]:
        stack = list(reversed(self.roots))
        while stack:
            node = stack.pop()
            yield node
            if node.children:
                stack.extend(reversed(node.children))

    # -- estimating
    @property
    def exact(self) -> bool:
        """Whether every key was listed: the counts are exact."""
        return all(root.exact for root in self.roots)

    def _estimates(self) -> dict[int, float]:
        """Kept keys under each node: counted, the sum of its children, or for a node not expanded yet the mean of its
        expanded siblings (or, when it has none, of the expanded nodes of its depth), at least what it showed."""
        estimates: dict[int, float] = {}
        expanded_by_depth: dict[int, list[Node]] = {}
        for node in self._nodes():
            if node.expanded and not node.exact:
                expanded_by_depth.setdefault(node.depth, []).append(node)

        def estimate(node: Node) -> float:
            if id(node) in estimates:
                return estimates[id(node)]
            if not self.key_range.reaches(node.prefix):
                value = 0.0
            elif node.exact:
                value = float(len(node.keys))
            elif node.children is not None:
                value = float(node.own) + sum(estimate(child) for child in node.children)
            else:
                siblings = [s for s in (node.parent.children if node.parent else []) if s.expanded and not s.exact]
                peers = siblings or expanded_by_depth.get(node.depth, [])
                peers_mean = sum(estimate(p) for p in peers) / len(peers) if peers else 0.0
                value = max(float(len(node.keys)), peers_mean)
            estimates[id(node)] = value
            return value

        for node in self._nodes():
            estimate(node)
        return estimates

    def kept(self) -> float:
        estimates = self._estimates()
        return sum(estimates[id(root)] for root in self.roots)

    # -- planning
    def plan(self, parts: int) -> list[Slice]:
        """At most `parts` slices with about equal estimated counts."""
        if self.exact:
            return plan_from_keys([k for root in self.roots for k in root.keys], parts, self.key_range)
        estimates = self._estimates()
        total = sum(estimates[id(root)] for root in self.roots)
        boundaries: list[str] = []
        for number in range(1, parts):
            boundary = self._boundary(self.roots, number * total / parts, estimates)
            if boundary is not None and (not boundaries or boundary > boundaries[-1]) \
                    and self.key_range.contains(boundary) and boundary != self.key_range.start:
                boundaries.append(boundary)
        cuts = [0.0, *(self._before(self.roots, b, estimates) for b in boundaries), total]
        return _slices(boundaries, [b - a for a, b in pairwise(cuts)], False, self.key_range)

    def _boundary(self, nodes: Sequence[Node], target: float, estimates: dict[int, float]) -> str | None:
        """A boundary with about `target` kept keys of `nodes` (consecutive, in key order) before it: between two
        listed keys, or at the start of a prefix not listed."""
        before = 0.0
        for index, node in enumerate(nodes):
            size = estimates[id(node)]
            if before + size <= target:
                before += size
                continue
            if node.exact:
                position = round(target - before)
                if position == 0:
                    return node.prefix
                return shortest_separator(node.keys, position, min(MAX_SLACK, int(SLACK * size)))
            if node.children is not None:
                if node.own and target - before < 0.5:
                    return node.prefix
                return self._boundary(node.children, target - before - node.own, estimates)
            # A prefix whose keys are not listed: its start or its end, whichever is nearer the target.
            if target - before < size / 2:
                return node.prefix
            return nodes[index + 1].prefix if index + 1 < len(nodes) else prefix_end(node.prefix)
        return None

    def _before(self, nodes: Sequence[Node], boundary: str, estimates: dict[int, float]) -> float:
        """Kept keys of `nodes` estimated before `boundary`."""
        count = 0.0
        for node in nodes:
            if boundary <= node.prefix:
                break
            end = prefix_end(node.prefix)
            if end is not None and end <= boundary:
                count += estimates[id(node)]
            elif node.exact:
                count += bisect_left(node.keys, boundary)
            elif node.children is not None:
                count += node.own + self._before(node.children, boundary, estimates)
        return count
