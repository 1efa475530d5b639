"""The C++ scenario-grid pass (``_core.margin.grid_margin_accounts`` and its one-group steps): hand-worked
groups, random books against a short numpy reference of the same formulas (module doc of
riskoffset.margining.grid), the previous Python reduction (bench/grid_span_baseline.py), and refused input."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset import _core
from riskoffset.margining.columns import GroupMargins
from riskoffset.margining.grid import grid_inputs, grid_margins

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from grid_span_baseline import grid_margin_python


def test_one_group_hand_worked(simd_target: str) -> None:
    """P&L (1, -2, 3) with weights (1, 1, 0.5): weighted losses (-1, 2, -1.5) -> scan 2 in scenario 1 (P&L -2);
    a minimum delta of 3 sets the requirement: IM = 3 + 0.25, MM = 0.8 x 3 + 0.25 = 2.65."""
    f = _core.margin.grid_margin_group(np.array([1.0, -2.0, 3.0]), np.array([1.0, 1.0, 0.5]), 3.0, 0.8, 0.25)
    assert (f["scan"], f["worst_index"], f["worst_pnl"]) == (2.0, 1, -2.0)
    assert (f["required"], f["initial"], f["maintenance"]) == (3.0, 3.25, 0.8 * 3.0 + 0.25)


def test_one_group_ties_and_no_loss(simd_target: str) -> None:
    """Equal weighted losses report the first; a vector of gains has no worst scenario (index -1) and scan 0."""
    tie = _core.margin.grid_margin_group(
        np.array([5.0, -4.0, -2.0]), np.array([1.0, 0.5, 1.0]), 0.0, 1.0, 0.0
    )
    assert (tie["scan"], tie["worst_index"]) == (2.0, 1)
    gains = _core.margin.grid_margin_group(np.array([5.0, 4.0]), np.array([1.0, 1.0]), 0.0, 1.0, 0.0)
    assert (gains["scan"], gains["worst_index"], gains["initial"]) == (0.0, -1, 0.0)


@pytest.mark.parametrize("m", [9, 13, 24, 35])
def test_one_group_first_worst_across_blocks(simd_target: str, m: int) -> None:
    """The first of equal weighted losses, wherever the vector blocks of the target split the scenarios; a NaN
    past the worst one still makes the group NaN (the first NaN reported)."""
    rng = np.random.default_rng(m)
    pnl, weight = rng.uniform(-1.0, 5.0, m), rng.uniform(0.5, 1.0, m)
    first, second = m // 3, m - 2  # in different blocks on every target
    pnl[first], weight[first] = -20.0, 0.5
    pnl[second], weight[second] = -10.0, 1.0  # the same weighted loss, 10
    f = _core.margin.grid_margin_group(pnl, weight, 0.0, 1.0, 0.0)
    assert (f["scan"], f["worst_index"], f["worst_pnl"]) == (10.0, first, -20.0)
    pnl[m - 1] = np.nan
    f = _core.margin.grid_margin_group(pnl, weight, 0.0, 1.0, 0.0)
    assert np.isnan(f["scan"]) and f["worst_index"] == m - 1


def test_nan_pnl_is_never_a_margin(simd_target: str) -> None:
    f = _core.margin.grid_margin_group(np.array([1.0, np.nan]), np.array([1.0, 1.0]), 0.0, 1.0, 0.0)
    assert np.isnan(f["scan"]) and np.isnan(f["initial"])


def _reference(book: ro.Book, inputs: object) -> dict[str, np.ndarray]:
    """Per (account, currency) group, with numpy and plain Python: sums of quantity x P&L, weighted losses,
    scan, minimum delta (net and gross coin delta per underlying) and the requirements."""
    grid = inputs.grid  # type: ignore[attr-defined]
    pnl, key = inputs.pnl, inputs.instrument_key  # type: ignore[attr-defined]
    w = grid.scenarios.weight
    rows: dict[tuple[int, int], np.ndarray] = {}
    deltas: dict[tuple[int, int, int], list[float]] = {}
    for a in range(len(book.accounts)):
        for p in range(book.indptr[a], book.indptr[a + 1]):
            i, q = int(book.indices[p]), float(book.quantity[p])
            g = (a, int(key[i]))
            rows[g] = rows.get(g, np.zeros(pnl.shape[1])) + q * pnl[i]
            if inputs.delta is not None:  # type: ignore[attr-defined]
                d = q * float(inputs.delta[i])  # type: ignore[attr-defined]
                net_gross = deltas.setdefault((a, g[1], int(inputs.underlying[i])), [0.0, 0.0])  # type: ignore[attr-defined]
                net_gross[0] += d
                net_gross[1] += abs(d)
    out: dict[str, list[Any]] = {
        k: [] for k in ("scan", "worst_index", "min_delta", "initial", "maintenance", "pnl")
    }
    for (a, k), row in sorted(rows.items()):
        out["pnl"].append(row)
        loss = -row * w
        j = int(np.argmax(loss))
        scan = max(0.0, float(loss[j]))
        md = 0.0
        for (a2, k2, u), (net, gross) in deltas.items():
            if (a2, k2) == (a, k):
                index = float(inputs.index[u])  # type: ignore[attr-defined]
                usd = (
                    grid.min_delta_net_rate * abs(net)
                    + grid.min_delta_hedged_rate * max(gross - abs(net), 0.0)
                ) * index
                md += usd if inputs.currencies[k] in ("USD", "USDC", "USDT") else usd / index  # type: ignore[attr-defined]
        req = max(scan, md)
        prov = grid.funding_provision + grid.fee_provision
        out["scan"].append(scan)
        out["worst_index"].append(j if scan > 0 else -1)
        out["min_delta"].append(md)
        out["initial"].append(req + prov)
        out["maintenance"].append(grid.maintenance_ratio * req + prov)
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("m", [1, 3, 4, 7, 8, 13, 16, 24, 31, 32, 33, 40])
def test_grids_of_any_scenario_count_match_the_reference(m: int, simd_target: str) -> None:
    """The pass sums a grid of up to 32 scenarios in a fixed number of vector blocks (one instance per count on the
    wide targets, whole or with a partial last block), more in the row: every count against the reference."""
    market = ro.Market.sample()
    rng = np.random.default_rng(m)
    table = market.instruments
    account = np.repeat(np.arange(30), rng.integers(1, 12, 30))
    rows = rng.integers(0, len(table), len(account))
    quantity = (rng.integers(-30, 31, len(account)) + 0.5) * 0.1
    book = ro.Book.from_arrays(account, rows, quantity, instruments=table)
    moves = np.linspace(-0.3, 0.3, m)
    doc = {"scenarios": [{"price_move": float(x), "vol_shift": 0.05 * (j % 3 - 1), "weight": 1.0 - 0.01 * j}
                         for j, x in enumerate(moves)], "min_delta_net_rate": 0.01}  # fmt: skip
    inputs = grid_inputs(book, market, doc)
    ref = _reference(book, inputs)
    cols = grid_margins(book, market, doc)
    assert np.array_equal(cols.worst_index, ref["worst_index"])
    for name in ("initial", "maintenance"):
        np.testing.assert_allclose(getattr(cols, name), ref[name], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_books_match_the_reference(seed: int, simd_target: str) -> None:
    market = ro.Market.sample()
    rng = np.random.default_rng(seed)
    table = market.instruments
    n_accounts = 40
    account = np.repeat(np.arange(n_accounts), rng.integers(1, 12, n_accounts))
    rows = rng.integers(0, len(table), len(account))
    quantity = rng.integers(-30, 31, len(account)) * 0.1
    quantity[quantity == 0] = 0.1
    book = ro.Book.from_arrays(account, rows, quantity, instruments=table)
    params = {"grid": "paradex", "funding_provision": 1.5, "fee_provision": 0.5}
    inputs = grid_inputs(book, market, params)
    assert inputs.delta is not None  # the preset has a minimum delta requirement
    ref = _reference(book, inputs)
    cols = grid_margins(book, market, params)
    assert np.array_equal(cols.worst_index, ref["worst_index"])
    for name in ("initial", "maintenance"):
        np.testing.assert_allclose(getattr(cols, name), ref[name], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(cols.components["scan_risk"], ref["scan"], rtol=1e-12, atol=1e-9)
    # the previous Python reduction, row by row and in total
    old = grid_margin_python(book, market, params)
    assert len(old.groups) == len(cols)
    for mine, theirs in zip(cols, old.groups):
        assert (mine.account, mine.group, mine.currency) == (theirs.account, theirs.group, theirs.currency)
        assert mine.initial == pytest.approx(theirs.initial, rel=1e-12, abs=1e-9)
        assert mine.maintenance == pytest.approx(theirs.maintenance, rel=1e-12, abs=1e-9)
        assert mine.worst_scenario == theirs.worst_scenario
        assert (
            mine.details["scenario_pnl"] == theirs.details["scenario_pnl"]
        )  # the same CSR sums, bit for bit
        assert mine.components.keys() == theirs.components.keys()
        assert mine.calibration == theirs.calibration
    total = ro.margin(book, market, "grid", params)
    assert isinstance(total.groups, GroupMargins)
    assert total.initial == pytest.approx(old.initial, rel=1e-12)
    assert total.maintenance_usd == pytest.approx(old.maintenance_usd, rel=1e-12)
    assert total.worst_scenario == old.worst_scenario
    assert total.calibration == old.calibration
    for name, value in old.components.items():
        assert total.components[name] == pytest.approx(value, rel=1e-12, abs=1e-9)


def random_grid(rng: np.random.Generator, n: int) -> dict[str, Any]:
    """A grid document of ``n`` scenarios with random moves, vol shifts and weights, provisions and a minimum delta
    requirement."""
    scenarios = [
        {"price_move": float(rng.uniform(-0.3, 0.3)), "vol_shift": float(rng.uniform(-0.3, 0.5)),
         "weight": float(rng.choice([1.0, 0.5, 0.9]))}
        for _ in range(n)
    ]  # fmt: skip
    return {"scenarios": scenarios, "maintenance_ratio": 0.7, "funding_provision": 2.0,
            "min_delta": {"net_rate": 0.01, "hedged_rate": 0.003}}  # fmt: skip


# Grid sizes around the pass's shapes: fewer scenarios than a vector's lanes, a partial last vector, exactly the
# running sums kept in registers (32), and more (summed in memory).
@pytest.mark.parametrize("n_scenarios", [1, 3, 7, 27, 32, 33, 45])
def test_grids_of_any_size_match_the_reference_on_every_target(simd_target: str, n_scenarios: int) -> None:
    market = ro.Market.sample()
    rng = np.random.default_rng(n_scenarios)
    table = market.instruments
    account = np.repeat(np.arange(30), rng.integers(1, 25, 30))
    book = ro.Book.from_arrays(account, rng.integers(0, len(table), len(account)),
                               rng.integers(1, 31, len(account)) * rng.choice([-0.1, 0.1], len(account)),
                               instruments=table)  # fmt: skip
    params = random_grid(rng, n_scenarios)
    inputs = grid_inputs(book, market, params)
    ref = _reference(book, inputs)
    cols = grid_margins(book, market, params)
    clear = ref["scan"] > 1e-9  # (where a loss is, its scenario is the reference's)
    assert np.array_equal(cols.worst_index[clear], ref["worst_index"][clear]), simd_target
    for name in ("initial", "maintenance"):
        np.testing.assert_allclose(getattr(cols, name), ref[name], rtol=1e-12, atol=1e-9, err_msg=simd_target)
    np.testing.assert_allclose(cols.components["scan_risk"], ref["scan"], rtol=1e-12, atol=1e-9)
    # every group's P&L in every scenario, not only the worst
    sums = inputs.run(book.indptr, book.indices, book.quantity, keep_vectors=True)["pnl"]
    np.testing.assert_allclose(sums, ref["pnl"], rtol=1e-12, atol=1e-9, err_msg=simd_target)


def _pass(indices: list[int], quantity: float, **change: Any) -> None:
    args: dict[str, Any] = {
        "instrument_key": np.zeros(2, np.int64),
        "n_keys": 1,
        "pnl": np.zeros((2, 3)),
        "weight": np.ones(3),
        "maintenance_ratio": 1.0,
        "provisions": 0.0,
        **change,
    }
    one = np.array([0, len(indices)], dtype=np.int64)
    _core.margin.grid_margin_accounts(
        one, np.array(indices, np.int64), np.full(len(indices), quantity), **args
    )


def test_refused_input_names_the_field() -> None:
    _pass([0, 1], 1.0)
    with pytest.raises(ValueError, match="position 0 names instrument row 5"):
        _pass([5], 1.0)
    with pytest.raises(ValueError, match="weight entry 1"):
        _pass([0], 1.0, weight=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="position 0: quantity is not finite"):
        _pass([0], np.nan)
    with pytest.raises(ValueError, match="instrument row 1: key outside"):
        _pass([0], 1.0, instrument_key=np.array([0, 3]))
    with pytest.raises(ValueError, match="go together"):
        _pass([0], 1.0, delta=np.zeros(2))
