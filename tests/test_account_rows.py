"""The compiled per-account sums of margin rows (`GroupMargins.by_account`) against a plain Python reading of
the same rows: sums in row order, the currency rule, USD figures, and the worst row."""

from __future__ import annotations

import math

import numpy as np
import pytest
from riskoffset import _core


def _reference(account, currency, usd_rate, initial, maintenance, usd_code):  # type: ignore[no-untyped-def]
    out = []
    r = 0
    while r < len(account):
        e = r
        while e < len(account) and account[e] == account[r]:
            e += 1
        one = all(currency[k] == currency[r] for k in range(r, e))
        im = mm = im_usd = mm_usd = 0.0
        worst, worst_row = -math.inf, r
        for k in range(r, e):
            iu, mu = initial[k] * usd_rate[k], maintenance[k] * usd_rate[k]
            im += initial[k] if one else iu
            mm += maintenance[k] if one else mu
            im_usd += iu
            mm_usd += mu
            if math.isfinite(iu) and iu > worst:
                worst, worst_row = iu, k
        out.append((r, currency[r] if one else usd_code, im, mm, im_usd, mm_usd, worst_row))
        r = e
    return out


@pytest.mark.parametrize("seed", range(6))
def test_rows_by_account_equals_a_plain_reading(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 500
    account = np.sort(rng.integers(0, 120, n)).astype(np.int64)
    currency = rng.integers(0, 3, n).astype(np.int64)
    usd_rate = rng.choice([1.0, 0.5, 97_000.0, 3_500.0, np.nan], n)
    initial = rng.choice([0.0, 1.0, 2.5], n) * rng.random(n) * 10
    maintenance = initial * 0.75
    initial[rng.random(n) < 0.05] = 2.5  # ties: the first row holding the largest wins
    got = _core.margin.rows_by_account(account, currency, usd_rate, initial, maintenance, 3)
    want = _reference(account.tolist(), currency.tolist(), usd_rate.tolist(), initial.tolist(),
                      maintenance.tolist(), 3)  # fmt: skip
    assert len(got[0]) == len(want) == len(np.unique(account))
    for column, values in enumerate(zip(*want)):
        np.testing.assert_array_equal(got[column], np.array(values), err_msg=f"column {column}")
    assert (got[1] == 3).any() and (got[1] < 3).any()  # both currency rules ran
    assert np.isnan(got[4]).any()  # an unknown rate stays unknown


def test_rows_by_account_refuses_rows_out_of_account_order() -> None:
    ones = np.ones(3)
    with pytest.raises(ValueError, match="row 2: rows must be in account order"):
        _core.margin.rows_by_account(np.array([0, 1, 0]), np.zeros(3, np.int64), ones, ones, ones, 0)
    with pytest.raises(ValueError, match="one entry per row"):
        _core.margin.rows_by_account(np.array([0, 1, 1]), np.zeros(2, np.int64), ones, ones, ones, 0)
    empty = _core.margin.rows_by_account(np.zeros(0, np.int64), np.zeros(0, np.int64), *[np.zeros(0)] * 3, 0)
    assert all(len(c) == 0 for c in empty)
