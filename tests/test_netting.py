"""Netting in C++ (``_core.book.net_positions`` behind ``Book.from_arrays``): exact integer sums per
(account, instrument), instruments in row order within an account, zeros and empty accounts dropped; checked
against a dictionary of Python integers, whatever the order of the input rows."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import riskoffset as ro
from riskoffset import _core


def _reference(account: np.ndarray, row: np.ndarray, units: np.ndarray) -> dict[tuple[int, int], int]:
    sums: dict[tuple[int, int], int] = defaultdict(int)
    for a, r, u in zip(account.tolist(), row.tolist(), units.tolist()):
        sums[(a, r)] += u
    return {k: v for k, v in sums.items() if v != 0}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_net_positions_matches_integer_sums(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, accounts, instruments = 20_000, 300, 50
    account = rng.integers(0, accounts, n)
    row = rng.integers(0, instruments, n)
    units = rng.integers(-5, 6, n) * 10**7  # many exact zeros after netting
    indptr, indices, summed = _core.book.net_positions(account, row, units, accounts, instruments)
    expected = _reference(account, row, units)
    got = {}
    for a in range(accounts):
        cells = indices[indptr[a] : indptr[a + 1]]
        assert np.all(np.diff(cells) > 0)  # instruments ascend within an account
        for r, u in zip(cells.tolist(), summed[indptr[a] : indptr[a + 1]].tolist()):
            got[(a, r)] = u
    assert got == expected
    # The input order does not matter (integer sums are exact).
    perm = rng.permutation(n)
    again = _core.book.net_positions(account[perm], row[perm], units[perm], accounts, instruments)
    assert all(np.array_equal(x, y) for x, y in zip(again, (indptr, indices, summed)))


def test_net_positions_refuses_bad_codes_and_overflow() -> None:
    one = np.array([0])
    with pytest.raises(ValueError, match="account code 5"):
        _core.book.net_positions(np.array([5]), one, one, 2, 2)
    with pytest.raises(ValueError, match="instrument row -1"):
        _core.book.net_positions(one, np.array([-1]), one, 2, 2)
    big = np.array([2**62, 2**62])
    with pytest.raises(ValueError, match="overflows"):
        _core.book.net_positions(np.zeros(2, np.int64), np.zeros(2, np.int64), big, 1, 1)


def test_book_from_arrays_nets_across_sparse_and_string_accounts() -> None:
    market = ro.Market.sample()
    table = market.instruments
    for accounts in (np.array([7, 10**12, 7, 10**12, 7]), np.array(["b", "a", "b", "a", "b"])):
        book = ro.Book.from_arrays(
            accounts, np.array([3, 3, 3, 4, 5]), [1.0, 2.0, -1.0, 0.5, 0.25], instruments=table
        )
        positions = {(p["account"], p["instrument"]): p["quantity"] for p in book.positions()}
        name = table.names
        assert len(book.accounts) == 2
        assert positions == {
            (accounts[1].item(), name[3]): 2.0,
            (accounts[1].item(), name[4]): 0.5,
            (accounts[0].item(), name[5]): 0.25,
        }
