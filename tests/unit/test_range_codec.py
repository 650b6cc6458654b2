"""The compact ranges text of the state (s3_metadata/range_codec.py): round trips, size, and damaged texts."""
from __future__ import annotations

import base64

import random

import pytest

from s3_metadata import range_codec

from s3_metadata.range_codec import decode_ranges, encode_ranges
from s3_metadata.ranges import RangeEntry
from s3_metadata.sketch import Sketch


def random_entries(rng: random.Random, count: int) -> list[RangeEntry]:
    keys = sorted({"".join(rng.choice("ab/é\U0001f600\ud800 .%+") for _ in range(rng.randint(1, 40)))
                   for _ in range(count)})
    entries = []
    for key in keys:
        known = rng.random() < 0.8
        entries.append(RangeEntry(
            key, rng.randint(0, 10**6) if known else None, rng.getrandbits(64) if known else None,
            rng.random() < 0.5, rng.getrandbits(64) if rng.random() < 0.7 else None,
            Sketch([rng.getrandbits(80) for _ in range(rng.choice((6, 24, 96)))]).to_bytes()
            if rng.random() < 0.6 else None))
    return entries + [RangeEntry(None, 3, 0, False, 0, None)]


@pytest.mark.parametrize("seed", range(20))
def test_round_trip(seed):
    entries = random_entries(random.Random(seed), 50)
    text = encode_ranges(entries)
    assert text.isascii() and '"' not in text and "\\" not in text
    assert decode_ranges(text) == entries


@pytest.mark.parametrize("entries", [
    pytest.param([], id="no-ranges"),
    pytest.param([RangeEntry(None)], id="one-open-range-never-listed"),
    pytest.param([RangeEntry("", 0, 0, True, 0, None), RangeEntry(None)], id="empty-boundary"),
])
def test_round_trip_edges(entries):
    assert decode_ranges(encode_ranges(entries)) == entries


def test_boundaries_in_folders_cost_their_tail():
    entries = [RangeEntry(f"data/2026/12/07/part-{i:06d}.parquet", 250, 1, False, 2, None) for i in range(100)]
    per_range = len(encode_ranges(entries)) / len(entries)
    assert per_range < 40  # the boundary alone is 37 characters


@pytest.mark.parametrize("text, message", [
    pytest.param("", "its format is not 1", id="empty"),
    pytest.param('"', "not base85 text", id="quote"),
    pytest.param("é", "not base85 text", id="non-ascii"),
])
def test_damaged_texts_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        decode_ranges(text)


def test_truncated_text_is_refused_at_every_length():
    text = encode_ranges(random_entries(random.Random(1), 10))
    full = decode_ranges(text)
    for end in range(5, len(text) - 5, 5):
        try:
            decoded = decode_ranges(text[:end])
        except ValueError:
            continue
        assert decoded != full


@pytest.mark.parametrize("slice_bytes", [4, 8, 1 << 16])
def test_base85_a_slice_at_a_time_equals_the_standard_library(monkeypatch, slice_bytes):
    """Differential: the sliced base85 (bounded memory) against base64's, over generated lengths around the slices'
    edges, both ways, and the same errors for text that is not base85."""
    monkeypatch.setattr(range_codec, "_ENCODE_SLICE", slice_bytes)
    monkeypatch.setattr(range_codec, "_DECODE_SLICE", slice_bytes // 4 * 5)
    rng = random.Random(slice_bytes)
    for length in [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 100, 1001] + [rng.randint(0, 300) for _ in range(50)]:
        data = rng.randbytes(length)
        text = base64.b85encode(data).decode("ascii")
        assert range_codec._b85encode(data) == text
        assert range_codec._b85decode(text) == data
    for bad in ['"', "\\", "abcd,", "0123456789" * 2 + "'"]:
        with pytest.raises(ValueError):
            base64.b85decode(bad.encode("ascii"))
        with pytest.raises(ValueError):
            range_codec._b85decode(bad)
