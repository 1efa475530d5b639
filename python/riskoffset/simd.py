"""Which SIMD implementation runs the kernels (runtime CPU dispatch you can see)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from . import _core


def simd_info() -> dict[str, object]:
    """Compiled, supported (by this CPU) and active SIMD targets, best first.

    The best supported target is chosen once at import; the environment variable RISKOFFSET_SIMD
    (generic, avx2, avx512) forces one."""
    return {
        "compiled": list(_core.simd.compiled_targets()),
        "supported": list(_core.simd.supported_targets()),
        "active": _core.simd.active_target(),
    }


def set_simd(target: str) -> None:
    """Switch every later call to the named target (process-wide).  Raises ValueError when the target is
    unknown or this CPU cannot run it."""
    _core.simd.set_active_target(target)


@contextmanager
def simd_target(target: str) -> Iterator[None]:
    """Run a block on one SIMD target, restoring the previous one afterwards (tests, benchmarks)."""
    previous = _core.simd.active_target()
    _core.simd.set_active_target(target)
    try:
        yield
    finally:
        _core.simd.set_active_target(previous)
