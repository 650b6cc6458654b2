"""The process's memory allocator, held to one arena.

glibc gives each thread that allocates its own malloc arena (up to eight per core) and rarely returns their freed
pages. A sync's listing and HEAD threads each allocate pages of short-lived objects, so an incremental sync of a
1,000,000-object bucket peaked at 395 MB of RSS while Python itself never held more than 94 MB (tracemalloc); with two
arenas it peaks at 163 MB, with one at 127 MB, for 4% more CPU (the GIL already serializes most allocations).
Fivetran runs the connector in a container with a memory limit, where those pages count.
`MALLOC_ARENA_MAX` would do the same but must be set before the process starts, which the runtime does not let us do;
`mallopt` sets it from inside, for the arenas threads create afterwards. Elsewhere than glibc this does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util

# glibc's malloc.h: M_ARENA_MAX.
_M_ARENA_MAX = -8
ARENAS = 1

_done = False


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Ask glibc to use at most `arenas` malloc arenas (once per process); whether it took."""
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _done = mallopt(_M_ARENA_MAX, arenas) == 1
    return _done
