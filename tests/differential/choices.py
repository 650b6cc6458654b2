"""The choices a generator of test inputs makes, drawn by hypothesis or taken from one seeded random source.

The generators (listing_bodies.py, head_responses.py) are plain functions of a `Choices`. Under `make test` each
choice is a hypothesis draw (`Drawn`), so a failing input shrinks to a small one. A long run
(`make differential`) spends most of its CPU on the draws themselves, a few hundred per listing body, so there each
generated input comes from one drawn seed (`Seeded`): about thirty times cheaper, not shrunk, and reproduced from
the seed hypothesis prints (the failure message also shows the input itself).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, Callable, Sequence, TypeVar

from hypothesis import strategies as st

from tests.differential.budget import LONG_RUN

T = TypeVar("T")
SPECIAL = ("&", "<", ">", '"', "'", "+", "%", " ", "/", "//", "~", "=", ";", "?", "#", "\t", "\n", "\r", "]]>", "]]",
           "\x00", "\x01", "\x1f", "\x7f", "\x85", "\u2028", "\ufeff", "\ufffd", "\ufffe", "\uffff", "\U0001fffe",
           "\U0010ffff", "%2B", "%20", "%4", "%zz", "%e9", "%C3", "%FF", "%ED%A0%80", "&amp;", "&#65;", ".", "..")
EARLIEST, LATEST = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)


def xml_characters(text: str) -> bool:
    """Whether XML 1.0 can carry `text` (escaped where it must be): no control character but tab and newline (a
    carriage return is rewritten by XML's end-of-line handling), no U+FFFE or U+FFFF, no surrogate."""
    return all(c in "\t\n" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) >= 0x10000
               for c in text)


def code_point(plane: int, offset: int) -> str:
    """A code point of one of Unicode's 17 planes; surrogates (which no key can hold) move to the next plane."""
    code = plane * 0x10000 + offset
    return chr(code + 0x800 if 0xD800 <= code <= 0xDFFF else code)


_ANY_PLANE = st.builds(code_point, st.integers(0, 16), st.integers(0, 0xFFFF))
_CHARACTERS = st.one_of(st.characters(codec="utf-8"), _ANY_PLANE, st.sampled_from(SPECIAL))
_XML_CHARACTERS = st.one_of(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), _ANY_PLANE,
                            st.sampled_from(SPECIAL)).filter(xml_characters)


class Choices:
    """What a generator may ask for."""

    def pick(self, options: Sequence[T]) -> T:
        raise NotImplementedError

    def integer(self, low: int, high: int) -> int:
        raise NotImplementedError

    def character(self, xml: bool) -> str:
        """A character (or a short special sequence) of a key: any, or only what XML can carry with `xml`."""
        raise NotImplementedError

    def moment(self) -> datetime:
        raise NotImplementedError

    def seed(self) -> int:
        """A seed for choices made per character of a value, which no one needs shrunk."""
        return self.integer(0, 2 ** 32 - 1)

    def boolean(self) -> bool:
        return self.pick((False, True))

    def permutation(self, items: list[T]) -> list[T]:
        order = random.Random(self.seed())
        shuffled = list(items)
        order.shuffle(shuffled)
        return shuffled

    def characters(self, xml: bool, low: int, high: int) -> str:
        return "".join(self.character(xml) for _ in range(self.integer(low, high)))


class Drawn(Choices):
    """Each choice a hypothesis draw (strategies are cached by their arguments, hence the tuples)."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]):
        self._draw = draw

    def pick(self, options: Sequence[T]) -> T:
        return self._draw(st.sampled_from(tuple(options)))

    def integer(self, low: int, high: int) -> int:
        return self._draw(st.integers(low, high))

    def character(self, xml: bool) -> str:
        return self._draw(_XML_CHARACTERS if xml else _CHARACTERS)

    def moment(self) -> datetime:
        return self._draw(st.datetimes())


class Seeded(Choices):
    """Every choice from one random source: cheap, but nothing to shrink."""

    def __init__(self, seed: int):
        self._random = random.Random(seed)

    def pick(self, options: Sequence[T]) -> T:
        return self._random.choice(options)

    def integer(self, low: int, high: int) -> int:
        # hypothesis favours the ends of a range (0, 1, the maximum); so does this, a quarter of the time.
        if self._random.random() < 0.25:
            return self._random.choice((low, min(low + 1, high), high))
        return self._random.randint(low, high)

    def character(self, xml: bool) -> str:
        while True:
            kind = self._random.random()
            if kind < 0.4:
                text = chr(self._random.randint(0x20, 0x7E))
            elif kind < 0.6:
                text = code_point(0, self._random.randint(0, 0xFFFF))
            elif kind < 0.8:
                text = code_point(self._random.randint(0, 16), self._random.randint(0, 0xFFFF))
            else:
                text = self._random.choice(SPECIAL)
            if not xml or xml_characters(text):
                return text

    def moment(self) -> datetime:
        span = (LATEST - EARLIEST).total_seconds()
        return EARLIEST + timedelta(seconds=int(self._random.random() * span),
                                    microseconds=self.pick((0, 0, self._random.randint(0, 999_999))))


def generated(build: Callable[[Choices], T]) -> st.SearchStrategy[T]:
    """`build`'s inputs: drawn choice by choice, or in a long run from one drawn seed each."""
    if LONG_RUN:
        return st.integers(0, 2 ** 64 - 1).map(lambda seed: build(Seeded(seed)))
    return st.composite(lambda draw: build(Drawn(draw)))()
