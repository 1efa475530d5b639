"""The (account, key) grouping of a book's positions (`sparse.group_positions`): a stable counting sort in the
compiled core, checked against numpy's stable argsort of the group ids, and its refusals."""

from __future__ import annotations

import numpy as np
import pytest
import riskoffset as ro
from riskoffset import _core
from riskoffset.sparse import group_positions


def reference(indptr: np.ndarray, key: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    account = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    group = account * n_keys + key
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_group[1:] != sorted_group[:-1]))) if len(group) else order
    return order, starts, sorted_group[starts]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_groups_are_a_stable_sort_of_account_and_key(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_accounts, n_keys = int(rng.integers(1, 60)), int(rng.integers(1, 5))
    lengths = rng.integers(0, 9, size=n_accounts)
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    key = rng.integers(0, n_keys, size=int(indptr[-1])).astype(np.int64)
    order, starts, ids = _core.book.group_positions(indptr, key, n_keys)
    want_order, want_starts, want_ids = reference(indptr, key, n_keys)
    np.testing.assert_array_equal(np.arange(len(key)) if order is None else order, want_order)
    np.testing.assert_array_equal(starts, want_starts)
    np.testing.assert_array_equal(ids, want_ids)


def test_a_book_already_grouped_has_no_order() -> None:
    indptr = np.array([0, 2, 2, 5], dtype=np.int64)
    order, starts, ids = _core.book.group_positions(indptr, np.array([0, 1, 0, 0, 2], dtype=np.int64), 3)
    assert order is None
    np.testing.assert_array_equal(starts, [0, 1, 2, 4])
    np.testing.assert_array_equal(ids, [0, 1, 6, 8])


def test_the_sample_books_group_by_settlement_currency() -> None:
    for name in ("market_maker", "linear_inverse"):
        book = ro.Book.sample(name)
        currency = (book.instruments.settlement == 1).astype(np.int64)  # inverse vs linear
        g = group_positions(book, currency, 2)
        want_order, want_starts, want_ids = reference(np.asarray(book.indptr), currency[book.indices], 2)
        np.testing.assert_array_equal(np.arange(len(book.indices)) if g.order is None else g.order, want_order)
        np.testing.assert_array_equal(g.starts, want_starts)
        np.testing.assert_array_equal(g.ids, want_ids)


@pytest.mark.parametrize(
    "indptr, key, n_keys, message",
    [
        ([0, 2], [0, 3], 3, "key outside"),
        ([0, 2], [0, -1], 3, "key outside"),
        ([0, 3], [0, 1], 3, "run over the positions"),
        ([1, 2], [0, 1], 3, "run over the positions"),
        ([0, 2, 1, 2], [0, 1], 3, "decreases at account 1"),
        ([0, 2], [0, 0], 0, "n_keys"),
    ],
)
def test_bad_groupings_are_refused(indptr: list[int], key: list[int], n_keys: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _core.book.group_positions(np.array(indptr, dtype=np.int64), np.array(key, dtype=np.int64), n_keys)


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_large_book_groups_into_reused_buffers_as_numpy_does(shuffled: bool) -> None:
    """Results of a megabyte and more come from the core's pool of reused buffers: a second call, after the
    first's arrays are freed (their buffers back in the pool), gives the reference again."""
    rng = np.random.default_rng(7)
    n_accounts, n_keys = 60_000, 3
    indptr = np.concatenate(([0], np.cumsum(rng.integers(1, 9, size=n_accounts)))).astype(np.int64)
    n = int(indptr[-1])
    account = np.repeat(np.arange(n_accounts), np.diff(indptr))
    key = rng.integers(0, n_keys, size=n).astype(np.int64)
    if not shuffled:  # each account's positions already by key: CSR order groups them
        key = key[np.lexsort((key, account))]
    want = reference(indptr, key, n_keys)
    for _ in range(2):
        order, starts, ids = _core.book.group_positions(indptr, key, n_keys)
        assert (order is None) == (not shuffled) and len(starts) > 131_072  # (over a megabyte: pooled)
        np.testing.assert_array_equal(np.arange(n) if order is None else order, want[0])
        np.testing.assert_array_equal(starts, want[1])
        np.testing.assert_array_equal(ids, want[2])
        del order, starts, ids
