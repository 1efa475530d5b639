"""8 threads calling the library at once (greeks, implied vol, revaluation, margin, SPAN, what-if, netting) on inputs
large enough to use the C++ buffer pool: every result bit-identical to the same call made alone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import riskoffset as ro
from riskoffset.whatif import WhatIf

N = 250_000  # above the buffer pool's threshold and the automatic threading cut-off


def _calls() -> dict[str, Callable[[], Any]]:
    rng = np.random.default_rng(5)
    f = rng.uniform(50.0, 150.0, N)
    k = rng.uniform(50.0, 150.0, N)
    t = rng.uniform(0.01, 2.0, N)
    sigma = rng.uniform(0.1, 1.5, N)
    flags = np.where(rng.random(N) < 0.5, "c", "p")
    price = np.asarray(ro.price(flags, f, k, t, 0.0, sigma))
    market = ro.Market.sample()
    book = ro.Book.sample()
    whatif = WhatIf(book, market, account="mm-btc")
    span_whatif = ro.SpanWhatIf(book, market, "sample", account="mm-btc")  # (its compiled call shared per file)
    table = market.instruments
    accounts = np.repeat(np.arange(2_000), 10)
    rows = rng.integers(0, len(table), len(accounts))
    qty = np.round(rng.uniform(-5, 5, len(rows)), 1) + 0.1
    move = np.linspace(-0.2, 0.2, 21)
    return {
        "greeks": lambda: ro.greeks(flags, f, k, t, 0.0, sigma),
        "implied_vol": lambda: ro.implied_vol(price, flags, f, k, t, 0.0),
        "revalue": lambda: ro.revalue(
            np.where(flags == "c", 1.0, -1.0)[:20_000], f[:20_000], k[:20_000], t[:20_000], sigma[:20_000], move,
            threads=2,
        ),
        "margin": lambda: ro.margin_accounts(book, market),
        "whatif": lambda: [whatif.order("BTC-PERPETUAL", q) for q in (-5e4, 1e3, 7e4)],
        "span_whatif": lambda: [span_whatif.order("BTC-PERPETUAL", q) for q in (-5e4, 1e3, 7e4)],
        "span_margin": lambda: ro.margin(book, market, "span", "sample").initial_usd,
        "netting": lambda: ro.Book.from_arrays(accounts, rows, qty, instruments=table),
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and not hasattr(a, "_fields"):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if hasattr(a, "equals"):
        return bool(a.equals(b))
    return bool(a == b)


def test_eight_threads_mixed_calls_are_bit_identical() -> None:
    calls = _calls()
    alone = {name: call() for name, call in calls.items()}
    names = list(calls)
    errors: list[str] = []
    start = threading.Barrier(8)

    def worker(i: int) -> None:
        start.wait()
        for step in range(3):
            name = names[(i + step) % len(names)]
            try:
                got = calls[name]()
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                errors.append(f"thread {i} {name}: {type(exc).__name__}: {exc}")
                continue
            if not _same(got, alone[name]):
                errors.append(f"thread {i} {name}: result differs from the single-threaded call")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    assert not any(th.is_alive() for th in threads), "a thread hung"
    assert not errors, errors
