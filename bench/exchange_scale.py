"""Exchange-scale margin, end to end through the public API: 100,000 accounts x 20 random positions over the
sample market's instruments, `ro.margin` timed five times per method (medians printed).

    python bench/exchange_scale.py [ACCOUNTS]
"""

from __future__ import annotations

import statistics
import sys
import time

import riskoffset as ro
from benchlib import exchange_book


def main(accounts: int = 100_000) -> None:
    market = ro.Market.sample()
    start = time.perf_counter()
    book = exchange_book(market, accounts)
    print(
        f"book of {len(book.indices):,} positions, {len(book.accounts):,} accounts: {time.perf_counter() - start:.3f} s"
    )
    for method in ("deribit-pm", "deribit-standard"):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            result = ro.margin(book, market, method)
            times.append(time.perf_counter() - start)
        print(
            f"ro.margin {method}: median {statistics.median(times):.3f} s (min {min(times):.3f}), "
            f"{len(result.groups):,} rows, IM {result.initial_usd:,.0f} USD"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
