"""Pooled result buffers: arrays never alias, buffers come back when arrays die, and can be released."""

from __future__ import annotations

import gc

import numpy as np
import riskoffset as ro
from riskoffset import memory

N = 300_000  # 2.4 MB per output: above the 128 KiB pooling threshold


def test_results_are_independent_arrays() -> None:
    f = np.full(N, 100.0)
    a = ro.greeks("c", f, 110.0, 0.5, 0.0, 0.3, greeks=["price", "delta"])
    b = ro.greeks("c", f, 90.0, 0.5, 0.0, 0.3, greeks=["price", "delta"])
    assert not np.shares_memory(a["price"], b["price"])
    assert not np.shares_memory(a["price"], a["delta"])
    expected = float(ro.price("c", 100.0, 110.0, 0.5, 0.0, 0.3))
    b["price"][:] = -1.0  # writing one result never changes another
    assert np.all(a["price"] == expected)


def test_buffers_return_to_the_pool_and_are_reused() -> None:
    memory.release_pooled_memory()
    assert memory.pooled_bytes() == 0
    f = np.full(N, 100.0)
    first = ro.greeks("c", f, 110.0, 0.5, 0.0, 0.3, greeks=["price"])["price"]
    address = first.__array_interface__["data"][0]
    del first
    gc.collect()
    assert memory.pooled_bytes() >= N * 8
    again = ro.greeks("c", f, 120.0, 0.5, 0.0, 0.3, greeks=["price"])["price"]
    assert again.__array_interface__["data"][0] == address  # the warm buffer, not fresh memory
    assert np.all(again == ro.price("c", 100.0, 120.0, 0.5, 0.0, 0.3))
    del again
    gc.collect()
    assert memory.release_pooled_memory() >= N * 8
    assert memory.pooled_bytes() == 0


def test_a_view_keeps_the_buffer_alive() -> None:
    f = np.full(N, 100.0)
    view = ro.greeks("c", f, 110.0, 0.5, 0.0, 0.3, greeks=["price"])["price"][10:20]
    gc.collect()
    ro.greeks("c", f, 50.0, 0.5, 0.0, 0.3, greeks=["price"])  # may take pooled buffers, never this one
    assert np.all(view == ro.price("c", 100.0, 110.0, 0.5, 0.0, 0.3))


def test_the_pool_starts_at_128_kib() -> None:
    """An output of 20,000 options (160 KB) comes from the pool and its buffer is reused; one of 10,000 (80 KB,
    which glibc serves from its heap without fresh pages) is numpy's own."""
    for n, pooled in ((20_000, True), (10_000, False)):
        memory.release_pooled_memory()
        f = np.full(n, 100.0)
        first = ro.greeks("c", f, 110.0, 0.5, 0.0, 0.3, greeks=["price"], threads=1)["price"]
        address = first.__array_interface__["data"][0]
        del first
        gc.collect()
        assert (memory.pooled_bytes() >= n * 8) == pooled
        again = ro.greeks("c", f, 120.0, 0.5, 0.0, 0.3, greeks=["price"], threads=1)["price"]
        if pooled:
            assert again.__array_interface__["data"][0] == address
        assert np.all(again == ro.price("c", 100.0, 120.0, 0.5, 0.0, 0.3))
    memory.release_pooled_memory()
