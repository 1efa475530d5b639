"""The SIMD registry: what is compiled, supported and active, and switching targets."""

from __future__ import annotations

import platform

import pytest
import riskoffset as ro
from riskoffset import _core


def test_info_is_consistent() -> None:
    info = ro.simd_info()
    assert info["compiled"][-1] == "generic"  # the portable fallback is always there, last
    assert set(info["supported"]) <= set(info["compiled"])
    assert "generic" in info["supported"]
    assert info["active"] in info["supported"]


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 builds only")
def test_x86_builds_every_target() -> None:
    info = ro.simd_info()
    if _core.simd.sanitized:  # tools/sanitize.sh compiles the targets its CPU runs, and only those
        assert info["compiled"] == info["supported"]
    else:
        assert info["compiled"] == ["avx512", "avx2", "generic"]


def test_default_is_the_best_supported() -> None:
    info = ro.simd_info()
    with ro.simd_target("generic"):
        assert ro.simd_info()["active"] == "generic"
    assert ro.simd_info()["active"] == info["active"]


def test_unknown_target_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown SIMD target 'neon'"):
        ro.set_simd("neon")


def test_every_target_gives_the_same_price(simd_target: str) -> None:
    with ro.simd_target("generic"):
        reference = ro.price("c", 100.0, 110.0, 0.5, 0.05, 0.3)
    assert ro.price("c", 100.0, 110.0, 0.5, 0.05, 0.3) == pytest.approx(reference, rel=1e-14)
