"""Keys that collide where the connector hashes them, for tests that must make a collision happen."""
from __future__ import annotations

from s3_metadata.sketch import key_hash


def colliding_keys(prefix: str = "k") -> tuple[str, str]:
    """Two different keys starting with `prefix` that share their 16-bit sketch key hash (a deterministic birthday
    search: a few hundred keys on average)."""
    seen: dict[int, str] = {}
    for i in range(200_000):
        key = f"{prefix}{i:06d}"
        other = seen.setdefault(key_hash(key), key)
        if other != key:
            return other, key
    raise AssertionError("no collision found")
