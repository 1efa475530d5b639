"""Progress bars for long work (large books, large SPAN files, many accounts), off unless asked for.

Library functions report their progress through `bar`; nothing is drawn unless progress is switched on
(`enabled(True)`, as the command line does when standard error is a terminal and ``--quiet`` is not given)
and the optional ``tqdm`` package is installed (``pip install 'riskoffset[progress]'``).  A bar appears only
for work that runs longer than about a second, on standard error, so output on standard output stays clean.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import sys
from collections.abc import Iterator
from typing import Any

_ON: contextvars.ContextVar[bool] = contextvars.ContextVar("riskoffset_progress", default=False)
DELAY = 1.0  # seconds before a bar is drawn


class _Silent:
    def update(self, n: float = 1) -> None:
        pass


def is_enabled() -> bool:
    return _ON.get()


@contextlib.contextmanager
def enabled(on: bool = True) -> Iterator[None]:
    """Progress bars on (or off) inside the block, in this thread and the tasks it starts."""
    token = _ON.set(on)
    try:
        yield
    finally:
        _ON.reset(token)


@contextlib.contextmanager
def bar(description: str, total: float | None, unit: str = "it", scale: bool = False) -> Iterator[Any]:
    """A bar object with ``update(n)``: drawn on standard error after `DELAY` seconds when progress is on and
    tqdm is installed, silent otherwise.  scale: show units with k/M prefixes (bytes, rows)."""
    if not _ON.get():
        yield _Silent()
        return
    try:
        tqdm = importlib.import_module("tqdm").tqdm
    except ImportError:
        yield _Silent()
        return
    with tqdm(total=total, desc=description, unit=unit, unit_scale=scale, delay=DELAY, file=sys.stderr,
              leave=False, dynamic_ncols=True) as t:  # fmt: skip
        yield t


class ReadCounter:
    """A binary file wrapper that reports the bytes read to a bar (SPAN files read by the XML parser)."""

    def __init__(self, raw: Any, progress: Any):
        self._raw = raw
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._raw.read(size)
        self._progress.update(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


__all__ = ["DELAY", "ReadCounter", "bar", "enabled", "is_enabled"]
