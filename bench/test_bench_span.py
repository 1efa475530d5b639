"""SPAN risk-parameter files at settlement-file scale (benchmark "Parsing a generated 50 MB .spn", docs/span.md).

tools/make_span_file.py writes a synthetic .spn of ~50 MB (10 combined commodities x 12 months, calls and
puts on a strike ladder: ~161,000 contracts, ~2.6 million risk-array values, the size of an NSE settlement
file); the benchmark parses it with the streaming parser and checks that every contract was read, with
its array.  Measured on this machine (2026-11-25): ~3.3 s unloaded (3.3-5.4 s under load) and ~80 MB above
the interpreter's baseline.

Under --benchmark-disable (the one-pass test run) the file is ~2 MB so the run stays quick.  A second
benchmark margins a 200-position account on the parsed file.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from riskoffset.margining.span import parse_span, span_margin

_TOOL = Path(__file__).resolve().parent.parent / "tools" / "make_span_file.py"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("make_span_file", _TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_span_file", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def span_file(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> tuple[Path, dict[str, int]]:
    disabled = request.config.getoption("benchmark_disable", False)
    gen = _generator()
    layout = gen.layout_for_megabytes(2.0 if disabled else 50.0)
    path = tmp_path_factory.mktemp("span") / "synthetic.spn"
    counts = gen.write(path, **layout)
    return path, counts


def test_parse_generated_spn(benchmark: Any, span_file: tuple[Path, dict[str, int]]) -> None:
    path, counts = span_file
    parsed = benchmark.pedantic(
        parse_span, args=(path,), rounds=1 if counts["bytes"] > 10e6 else 3, iterations=1
    )
    assert len(parsed.contracts) == counts["contracts"]
    assert int((parsed.contracts.kind == 1).sum()) == counts["options"]
    arrays = parsed.contracts.arrays[1]
    assert arrays.shape == (counts["contracts"], 16) and not np.isnan(arrays).any()
    assert len(parsed.orgs[0].combined) == 10
    benchmark.extra_info["megabytes"] = round(counts["bytes"] / 1e6, 1)
    benchmark.extra_info["contracts"] = counts["contracts"]


def test_span_margin_200_positions(benchmark: Any, span_file: tuple[Path, dict[str, int]]) -> None:
    path, _counts = span_file
    span = parse_span(path)
    rng = np.random.default_rng(5)
    rows = rng.choice(len(span.contracts), 200, replace=False)
    positions = {span.contract_label(int(r)): int(q) for r, q in zip(rows, rng.integers(-20, 21, 200)) if q}
    result = benchmark(span_margin, positions, None, span)
    assert result.initial >= result.maintenance >= 0.0
    assert sum(result.components.values()) == pytest.approx(
        result.initial, abs=1e-6 * max(result.initial, 1.0)
    )


def test_margin_of_one_account_by_preset_name(benchmark: Any) -> None:
    """``ro.margin(book, market, "span", "sample")`` on a one-account book, as a what-if or a pre-trade check
    calls it: the file named by the preset is parsed once and its instruments mapped once (each call parsed
    it and looked every instrument up before, ~50 ms and more).  Against parsing the file alone, timed in the
    same run: at least 10x less (17-37x measured; the parse took 29-64 ms from run to run)."""
    import time

    import riskoffset as ro
    from benchlib import exchange_book
    from riskoffset.margining.span.algorithm import sample_params_path

    market = ro.Market.sample()
    book = exchange_book(market, 1)
    spn = sample_params_path().parent / "sample-synthetic.spn"
    ro.margin(book, market, "span", "sample")  # (the first call reads the file)
    result = benchmark(ro.margin, book, market, "span", "sample")
    assert result.initial >= result.maintenance >= 0.0
    if not getattr(benchmark, "disabled", False):
        parses = []
        for _ in range(5):
            start = time.perf_counter()
            parse_span(spn)
            parses.append(time.perf_counter() - start)
        parse_s, ours = float(np.median(parses)), float(benchmark.stats.stats.median)
        benchmark.extra_info.update(parse_s=parse_s, ratio=parse_s / ours)
        assert parse_s >= 10 * ours, f"ro.margin span of one account {ours * 1e3:.2f} ms, a parse {parse_s * 1e3:.1f} ms"
