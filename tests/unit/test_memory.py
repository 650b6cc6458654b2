"""The allocator tuning of s3_metadata/memory.py: it takes on glibc, and is a harmless no-op elsewhere."""
from __future__ import annotations

import ctypes.util
import platform

import pytest

from s3_metadata import memory


def test_limiting_the_arenas_takes_on_glibc_and_is_idempotent():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    assert memory.limit_malloc_arenas() is True
    assert memory.limit_malloc_arenas() is True


def test_without_mallopt_nothing_is_changed(monkeypatch):
    monkeypatch.setattr(memory, "_done", False)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "/nonexistent/libc.so")
    assert memory.limit_malloc_arenas() is False
