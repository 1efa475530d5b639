"""Pooled result buffers: arrays never alias, buffers come back when arrays die, and can be released."""

from __future__ import annotations

import gc

import numpy as np
import riskoffset as ro
from riskoffset import memory

N = 300_000  # 2.4 MB per output: above the 1 MiB pooling threshold


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
