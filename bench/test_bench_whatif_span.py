"""What-if margin of one order under SPAN (`ro.SpanWhatIf`, the bundled synthetic file of the sample market).

The accounts of the sample ``market_maker`` book: ``mm-btc`` (200 positions) and ``mm-hedge`` (2).  An order
recomputes the account's SPAN in one compiled call; the baseline, timed in the same run, is ``ro.margin(book,
market, "span", "sample")`` on the account's positions plus the order, whose figures the answer must equal.
"""

from __future__ import annotations

import numpy as np
import pytest
import riskoffset as ro
from benchlib import assert_speedup, median_time
from riskoffset.whatif import one_account

MARKET = ro.Market.sample()
BOOK = ro.Book.sample("market_maker")


def _book_after(account: str, instrument: str, quantity: float) -> ro.Book:
    mine = one_account(BOOK, account)
    names = mine.instruments.names[mine.indices].tolist() + [instrument]
    qty = mine.quantity.tolist() + [quantity]
    return ro.Book.from_arrays(np.array([account] * len(names)), names, qty, instruments=MARKET.instruments)


@pytest.mark.parametrize("account", ["mm-btc", "mm-hedge"])
@pytest.mark.benchmark(group="what-if one order, SPAN")
def test_span_whatif_one_order(benchmark, account: str) -> None:  # type: ignore[no-untyped-def]
    w = ro.SpanWhatIf(BOOK, MARKET, "sample", account=account)
    result = benchmark(w.order, "BTC-PERPETUAL", -100_000.0)
    after = _book_after(account, "BTC-PERPETUAL", -100_000.0)
    full = ro.margin(after, MARKET, "span", "sample")
    assert (result.initial_after, result.maintenance_after) == (full.initial, full.maintenance)
    if not getattr(benchmark, "disabled", False):
        margin_s = median_time(lambda: ro.margin(after, MARKET, "span", "sample"), 31)
        # ~450x measured for mm-btc (7.2 us against 3.3 ms), ~340x for mm-hedge (3.9 us against 1.3 ms).
        assert_speedup(benchmark, margin_s, 100, f"a SPAN what-if order on {account}", "margin")
