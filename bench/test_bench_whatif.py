"""What-if margin of one order on a cached book (bar: <= 5 us from Python).

The cached book is the 200-position ``mm-btc`` account of the sample ``market_maker`` book over the sample
market's listed BTC and ETH instruments (`riskoffset.whatif.WhatIf`, Deribit PM, 27 + 8 scenarios).  Each
benchmark also checks its answer against a full recomputation through ``ro.margin``.
"""

from __future__ import annotations

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.whatif import WhatIf


@pytest.fixture(scope="module")
def cached() -> tuple[ro.Market, ro.Book, WhatIf]:
    market = ro.Market.sample()
    book = ro.Book.sample("market_maker")
    return market, book, WhatIf(book, market, account="mm-btc")


def _full_initial_usd(market: ro.Market, book: ro.Book, orders: list[tuple[str, float]]) -> float:
    lo, hi = int(book.indptr[0]), int(book.indptr[1])
    assert book.accounts[0] == "mm-btc"
    names = book.instruments.names[book.indices[lo:hi]].tolist() + [n for n, _ in orders]
    qty = book.quantity[lo:hi].tolist() + [q for _, q in orders]
    combined = ro.Book.from_arrays(
        np.array(["mm-btc"] * len(names)), names, qty, instruments=market.instruments
    )
    result = ro.margin(combined, market, "deribit-pm").initial_usd
    assert result is not None
    return result


@pytest.mark.parametrize(
    ("instrument", "quantity"), [("BTC-PERPETUAL", 250_000.0), ("BTC-25DEC26-110000-C", -2.0)]
)
@pytest.mark.benchmark(group="what-if one order")
def test_whatif_one_order(benchmark, cached, instrument: str, quantity: float) -> None:  # type: ignore[no-untyped-def]
    market, book, w = cached
    result = benchmark(w.order, instrument, quantity)
    assert result.initial_usd_after == pytest.approx(
        _full_initial_usd(market, book, [(instrument, quantity)]), rel=1e-11
    )


@pytest.mark.benchmark(group="what-if basket of 10")
def test_whatif_basket_of_ten(benchmark, cached) -> None:  # type: ignore[no-untyped-def]
    market, book, w = cached
    names = [n for n in w.table.names.tolist() if n.startswith("BTC-26NOV26-")][:9] + ["BTC-PERPETUAL"]
    orders = [(n, 1.0 if n.count("-") == 3 else 10_000.0) for n in names]
    result = benchmark(w.basket, orders)
    assert result.initial_usd_after == pytest.approx(_full_initial_usd(market, book, orders), rel=1e-11)
