"""Per-group sums of a book's positions (`sparse.group_sums`, `sparse.cell_sums`): checked against plain Python
sums over the positions, position by position, and the compiled call's refusals."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
import riskoffset as ro
from random_books import random_book
from riskoffset import _core
from riskoffset.sparse import cell_sums, group_positions, group_sums


def _random_book(seed: int, per_account: int = 6) -> tuple[ro.Book, np.ndarray, int]:
    """A book of random accounts over the sample market's instruments, and a random key per instrument."""
    rng = np.random.default_rng(seed)
    n_accounts = int(rng.integers(1, 40)) if per_account <= 6 else 2
    book = random_book(seed, n_accounts, n_accounts * per_account, futures_lot=1.0, most_lots=20)
    n_keys = int(rng.integers(1, 4))
    return book, rng.integers(0, n_keys, size=len(book.instruments)).astype(np.int64), n_keys


def _positions_by_group(book: ro.Book, key: np.ndarray, n_keys: int) -> dict[int, list[tuple[int, float]]]:
    """(instrument row, quantity) of each (account x n_keys + key) group, in CSR order: the plain reading."""
    out: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for a in range(len(book.accounts)):
        for p in range(int(book.indptr[a]), int(book.indptr[a + 1])):
            i = int(book.indices[p])
            out[a * n_keys + int(key[i])].append((i, float(book.quantity[p])))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_group_sums_equal_sums_over_each_groups_positions(seed: int) -> None:
    book, key, n_keys = _random_book(seed)
    rng = np.random.default_rng(seed + 100)
    matrix = rng.normal(size=(len(book.instruments), 3))
    g = group_positions(book, key, n_keys)
    plain = _positions_by_group(book, key, n_keys)
    for absolute in (False, True):
        got = group_sums(book, matrix, g, absolute=absolute)
        assert got.shape == (len(g.ids), 3)
        for row, gid in enumerate(g.ids.tolist()):
            want = [math.fsum((abs(q) if absolute else q) * matrix[i, j] for i, q in plain[gid]) for j in range(3)]
            np.testing.assert_allclose(got[row], want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(("seed", "per_account"), [*((s, 6) for s in range(6)), (7, 400), (8, 900)])
def test_cell_sums_cover_the_occupied_cells_only(seed: int, per_account: int) -> None:
    """(Groups of a few positions, and groups of hundreds: each sorted by its own method.)"""
    book, key, n_keys = _random_book(seed, per_account)
    rng = np.random.default_rng(seed + 200)
    n = len(book.instruments)
    # Columns in no order of the instrument rows (a group's positions reach them out of order), some left out.
    column = rng.integers(-1, 25, size=n).astype(np.int64)
    value = rng.normal(size=n)
    g = group_positions(book, key, n_keys)
    if per_account > 6:
        assert g.lengths.max() > 32  # (groups past the insertion sort's size)
    got = cell_sums(book, value, column, g)
    want: dict[tuple[int, int], list[float]] = defaultdict(list)
    plain = _positions_by_group(book, key, n_keys)
    for row, gid in enumerate(g.ids.tolist()):
        for i, q in plain[gid]:
            if column[i] >= 0:
                want[(row, int(column[i]))].append(q * value[i])
    cells = list(zip(got.group.tolist(), got.column.tolist()))
    assert cells == sorted(want), "one entry per occupied cell, group by group, columns ascending"
    for (row, c), total in zip(cells, got.total.tolist()):
        parts = want[(row, c)]
        assert total == pytest.approx(math.fsum(parts), rel=1e-14, abs=1e-14)
        assert total == sum(parts)  # summed in CSR order: the same bits as a plain left-to-right sum


def test_cell_sums_of_strikes_net_calls_against_puts() -> None:
    """The legacy PM's use: the net amount per (expiry, strike) of each account."""
    call, put, other = "BTC-25DEC26-110000-C", "BTC-25DEC26-110000-P", "BTC-25DEC26-120000-C"
    book = ro.Book.from_arrays(["x", "x", "x", "y"], [call, put, other, put], [-3.0, 1.0, 2.0, 5.0])
    table = book.instruments
    column = np.array([{"110000": 0, "120000": 1}[name.split("-")[2]] for name in table.names], dtype=np.int64)
    cells = cell_sums(book, np.ones(len(table)), column, group_positions(book))
    account = [str(book.accounts[g]) for g in cells.group.tolist()]
    assert list(zip(account, cells.column.tolist(), cells.total.tolist())) == [
        ("x", 0, -2.0),
        ("x", 1, 2.0),
        ("y", 0, 5.0),
    ]


@pytest.mark.parametrize(
    "starts, lengths, order, instrument, message",
    [
        ([0], [3], None, [0, 1], "outside the positions"),
        ([-1], [1], None, [0, 1], "outside the positions"),
        ([0], [2], [0, 2], [0, 1], "names no position"),
        ([0], [2], [0], [0, 1], "every position once"),
        ([0], [2], None, [0, 7], "outside the value column"),
        ([0, 1], [1], None, [0, 1], "starts and lengths differ"),
    ],
)
def test_the_compiled_cell_sums_refuse_inconsistent_arrays(
    starts: list[int], lengths: list[int], order: list[int] | None, instrument: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _core.book.cell_sums(
            np.array(starts, dtype=np.int64),
            np.array(lengths, dtype=np.int64),
            None if order is None else np.array(order, dtype=np.int64),
            np.array(instrument, dtype=np.int64),
            np.ones(len(instrument)),
            np.ones(3),
            np.zeros(3, dtype=np.int64),
        )


def test_group_sums_refuse_a_matrix_of_other_instruments() -> None:
    book = ro.Book.sample()
    with pytest.raises(ValueError, match="rows, the book"):
        group_sums(book, np.ones((len(book.instruments) + 1, 2)), group_positions(book))
