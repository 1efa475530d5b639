"""The pool of large result buffers that the compiled core reuses.

Result arrays of 128 KiB and more are carved from buffers that go back to a pool when numpy frees the array,
so repeated calls on large books reuse warm memory instead of paying a page fault per 4 KiB of fresh
memory (5-10 ns per option, as much as the pricing, from 20,000 options up).  At most 256 MiB of idle buffers are
kept; `release_pooled_memory()` returns them to the system.
"""

from __future__ import annotations

from . import _core


def pooled_bytes() -> int:
    """Bytes of idle result buffers the pool holds now."""
    return int(_core.memory.pooled_bytes())


def release_pooled_memory() -> int:
    """Free every idle pooled buffer; returns the number of bytes released."""
    return int(_core.memory.release_pooled_memory())
