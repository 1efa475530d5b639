"""One account's SPAN in one compiled call (`bulk.span_one_account`, what a live trade and a SPAN what-if run)
against SPAN's per-account path (`span_account`, the reference) to 1e-12, and against the many-account path
(`bulk.span_margins`, the same compiled steps over every account) to the bit; None exactly where the
many-account path hands the account to `span_account`.  On the sample file, each variant of it that takes
another way of adding an account's CCs, and a file with a cross-commodity spread; refused positions and routing
named."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from riskoffset.margining.span import bulk, parse_span
from riskoffset.margining.span.algorithm import SpanOptions, load_params, net_positions
from test_span_pass import TWO_CC, _variant

VARIANTS = ["class 2 by the pass", "EUR by multiplication", "GBP by division", "capAnov", "point weights", "scan tiers"]


def _random_accounts(span: Any, seed: int, n_accounts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accounts of 1-9 positions on a few contracts each (so spreads form and positions net to zero), rows
    repeated and unsorted, some outside every CC where the file has such contracts."""
    rng = np.random.default_rng(seed)
    account = np.repeat(np.arange(n_accounts), rng.integers(1, 10, n_accounts))
    cc_of_row = span.combined_commodity_of_rows()[0]
    linked = np.flatnonzero(cc_of_row >= 0)
    pool = linked[:: max(1, len(linked) // 30)]
    rows = rng.choice(pool, len(account))
    unlinked = np.flatnonzero(cc_of_row < 0)
    if len(unlinked):
        stray = rng.random(len(account)) < 0.02
        rows[stray] = rng.choice(unlinked, int(stray.sum()))
    qty = rng.integers(-5, 6, len(account)).astype(float) * rng.choice([1.0, 0.5, 0.1], len(account))
    return account, rows.astype(np.int64), qty


def _check_every_account(span: Any, opts: SpanOptions, seed: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Compares the two paths on random accounts; returns how many the one-account call computed itself."""
    account, rows, qty = _random_accounts(span, seed, 60)
    routed: set[Any] = set()
    real = bulk.span_account
    monkeypatch.setattr(bulk, "span_account", lambda *a, **k: routed.add(k.get("account")) or real(*a, **k))
    cols = bulk.span_margins(span, list(range(60)), account, rows, qty, opts)
    computed = 0
    for a in range(60):
        mine = account == a
        one = bulk.span_one_account(span, rows[mine], qty[mine], opts)
        if a in routed:
            assert one is None, a
            continue
        assert one is not None, a
        computed += 1
        initial, maintenance, currency = one
        assert (initial, maintenance) == (cols.initial[a], cols.maintenance[a]), a  # the same bits
        assert currency == cols.currencies[int(cols.currency[a])], a
        ref = real(span, *net_positions(rows[mine], qty[mine]), opts)
        assert initial == pytest.approx(ref.initial, rel=1e-12, abs=1e-9), a
        assert maintenance == pytest.approx(ref.maintenance, rel=1e-12, abs=1e-9), a
        assert currency == ref.currency, a
    return computed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sample_file_matches_the_many_account_path(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    span, _ = load_params("sample")
    assert _check_every_account(span, SpanOptions(), seed, monkeypatch) >= 40


@pytest.mark.parametrize("variant", VARIANTS)
def test_file_variants_match_the_many_account_path(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    span, opts = _variant(variant)
    assert _check_every_account(span, opts, len(variant), monkeypatch) >= 40


def test_an_inter_spread_is_formed_in_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """two_cc.spn links AAA and BBB by an inter spread: an account holding both is computed with its credit (1 AF
    long, 3 BF short form one spread: below the sum of the two alone), as is one holding either alone, and each
    equals the many-account path."""
    span = parse_span(TWO_CC)
    aaa, bbb = span.row("AF:101"), span.row("BF:201")
    both = bulk.span_one_account(span, np.array([aaa, bbb]), np.array([1.0, -3.0]), SpanOptions())
    alone = [bulk.span_one_account(span, np.array([r]), np.array([q]), SpanOptions()) for r, q in ((aaa, 1.0), (bbb, -3.0))]
    assert both is not None and alone[0] is not None and alone[1] is not None
    assert both[1] < alone[0][1] + alone[1][1]
    cols = bulk.span_margins(span, ["a"], np.zeros(2, np.int64), np.array([aaa, bbb]), np.array([1.0, -3.0]), SpanOptions())
    assert both == (cols.initial[0], cols.maintenance[0], cols.currencies[int(cols.currency[0])])
    assert cols.components["inter_spread_credit"][0] < 0
    for row in (aaa, bbb):
        one = bulk.span_one_account(span, np.array([row]), np.array([-2.0]), SpanOptions())
        cols = bulk.span_margins(span, ["a"], np.zeros(1, np.int64), np.array([row]), np.array([-2.0]), SpanOptions())
        assert one == (cols.initial[0], cols.maintenance[0], cols.currencies[int(cols.currency[0])])
        assert one is not None and one[1] > 0
    assert _check_every_account(span, SpanOptions(), 7, monkeypatch) >= 10


def test_positions_are_netted_in_any_order() -> None:
    """Repeated rows add up (in units of 1e-8 contracts, as the many-account path nets), any order; a position
    netted to zero is no position (None: the full path gives an empty account its zero)."""
    span, _ = load_params("sample")
    rows = np.flatnonzero(span.combined_commodity_of_rows()[0] >= 0)[:3].astype(np.int64)
    whole = bulk.span_one_account(span, rows, np.array([3.0, -2.0, 1.0]), SpanOptions())
    split = bulk.span_one_account(
        span, rows[[2, 0, 1, 0, 1]], np.array([1.0, 1.0, -1.5, 2.0, -0.5]), SpanOptions()
    )
    assert whole is not None and split == whole
    assert bulk.span_one_account(span, rows[[0, 0]], np.array([0.1 + 0.2, -0.3]), SpanOptions()) is None
    assert bulk.span_one_account(span, rows[:0], np.zeros(0), SpanOptions()) is None


def test_refused_positions_are_named() -> None:
    span, _ = load_params("sample")
    row = int(np.flatnonzero(span.combined_commodity_of_rows()[0] >= 0)[0])
    with pytest.raises(ValueError, match="position 1 names contract row -1, outside the file"):
        bulk.span_one_account(span, np.array([row, -1]), np.array([1.0, 1.0]), SpanOptions())
    with pytest.raises(ValueError, match="position 0: contracts not finite"):
        bulk.span_one_account(span, np.array([row]), np.array([np.nan]), SpanOptions())
    with pytest.raises(ValueError, match=f"contract row {row}: 1000000000000.000000 contracts, beyond the 9.2e10"):
        bulk.span_one_account(span, np.array([row]), np.array([1e12]), SpanOptions())
    with pytest.raises(ValueError, match="need one entry per position"):
        bulk.span_one_account(span, np.array([row, row]), np.array([1.0]), SpanOptions())


def test_refused_routing_names_the_field() -> None:
    """The compiled call checks what it is bound to once, naming the field."""
    from riskoffset import _core

    span, _ = load_params("sample")
    prep = bulk._prepared(span, SpanOptions())
    model = prep.model_m.arrays
    one = bulk.span_one_account(span, np.array([0]), np.array([1.0]), SpanOptions())
    routing = prep.routing
    assert _core.margin.SpanAccount(model, None, routing)(np.array([0]), np.array([1.0])) == (
        None if one is None else (one[0], one[1], prep.cur_names.index(one[2]))
    )
    with pytest.raises(ValueError, match="SPAN routing: no 'cc_cur' array"):
        _core.margin.SpanAccount(model, None, {k: v for k, v in routing.items() if k != "cc_cur"})
    with pytest.raises(ValueError, match="SPAN routing: 'adj_val' has 1 entries"):
        _core.margin.SpanAccount(model, None, {**routing, "adj_val": np.ones(1)})
    bad = routing["spread_cc"].copy()
    if len(bad):
        bad[0] = 10_000
        with pytest.raises(ValueError, match="names a CC outside the file"):
            _core.margin.SpanAccount(model, None, {**routing, "spread_cc": bad})
    with pytest.raises(ValueError, match="currency outside the table"):
        _core.margin.SpanAccount(model, None, {**routing, "cc_cur": np.full(len(routing["cc_cur"]), 99)})

