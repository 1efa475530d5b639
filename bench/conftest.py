"""pytest set-up of the benchmark suite (STYLE: "Benchmarks that assert").

* The report header names the machine, the versions, the SIMD targets and the _core binary, so a saved
  run says what it measured.
* Session fixtures hand out cached seeded books (see benchlib.py) and their numpy-baseline references.
* Under `--benchmark-disable` (the CI test run executes each benchmark once) the 1,000,000-option cases run
  on benchlib.SMALL_N_WHEN_DISABLED options instead (benchlib.effective_n), to keep the directory fast.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import platform
from typing import Callable

import numpy as np
import pytest
import riskoffset as ro
from benchlib import Book, IVCase, make_book, make_iv_case
from numpy_baseline import black76_greeks


# --------------------------------------------------------------------------------------------- header
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return " ".join(
                        f for f in ("avx2", "fma", "avx512f", "avx512dq", "avx512vl") if f in flags
                    )
    except OSError:
        pass
    return "?"


def _version(module: str) -> str:
    try:
        mod = importlib.import_module(module)
    except Exception:  # noqa: BLE001 - an optional peer may be missing or broken
        return "not installed"
    return str(getattr(mod, "__version__", "?"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    def dist(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    core = getattr(ro._core, "__file__", "?")
    try:
        with open(core, "rb") as fh:
            digest = hashlib.md5(fh.read()).hexdigest()[:12]
    except OSError:
        digest = "?"
    return [
        f"machine: {_cpu_model()}, {os.cpu_count()} logical CPUs, flags: {_cpu_flags()}; {platform.platform()}",
        (
            f"python {platform.python_version()}, numpy {np.__version__}, scipy {_version('scipy')}, "
            f"riskoffset {ro.__version__}, pytest-benchmark {dist('pytest-benchmark')}"
        ),
        f"peers: vollib {dist('vollib')}, QuantLib {dist('QuantLib')}",
        f"riskoffset.simd_info(): {ro.simd_info()}",
        f"riskoffset._core: {core} (md5 {digest})",
    ]


_CACHE: dict[tuple, object] = {}


def _cached(key: tuple, build: Callable[[], object]) -> object:
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


@pytest.fixture(scope="session")
def book_factory() -> Callable[..., Book]:
    """book_factory(n, seed=..., integer_days=False): a cached seeded book."""

    def get(n: int, seed: int = 20261115, integer_days: bool = False) -> Book:
        return _cached(("book", n, seed, integer_days), lambda: make_book(n, seed, integer_days))  # type: ignore[return-value]

    return get


@pytest.fixture(scope="session")
def reference_factory() -> Callable[[Book], dict[str, np.ndarray]]:
    """reference_factory(book): numpy-baseline price + 5 Greeks of the book (cached by identity)."""

    def get(book: Book) -> dict[str, np.ndarray]:
        return _cached(("ref", id(book)), lambda: black76_greeks(*book.args()))  # type: ignore[return-value]

    return get


@pytest.fixture(scope="session")
def iv_factory() -> Callable[..., IVCase]:
    def get(n: int, seed: int = 7) -> IVCase:
        return _cached(("iv", n, seed), lambda: make_iv_case(n, seed))  # type: ignore[return-value]

    return get
