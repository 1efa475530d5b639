"""Every account margined on a Dask cluster equals the local call bit for bit, whatever the partitions; and
everything that crosses to a worker pickles.  The cluster is a real `LocalCluster` of 2 worker processes."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.distributed import scatter_book
from riskoffset.margining.bulk import account_ranges
from riskoffset.margining.columns import AccountMargins
from riskoffset.whatif import WhatIf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from benchlib import exchange_book


def _book(market: ro.Market, accounts: int, per_account: int = 20, seed: int = 3) -> ro.Book:
    book: ro.Book = exchange_book(market, accounts, per_account, seed)
    return book


@pytest.fixture(scope="module")
def market() -> ro.Market:
    return ro.Market.sample()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(  # (the HTTP server on a free port: test processes run side by side)
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", scheduler_kwargs={"dashboard": False}
    ) as cluster, distributed.Client(cluster) as c:  # fmt: skip
        yield c


def test_local_margin_accounts_matches_margin(market: ro.Market) -> None:
    """One row per account with the figures ro.margin gives for that account alone."""
    book = _book(market, 40)
    rows = ro.margin_accounts(book, market)
    assert len(rows) == 40 and list(rows.account) == list(book.accounts)
    for i in (0, 17, 39):
        alone = ro.margin(book.account_range(i, i + 1), market)
        # the same groups summed (the total sums them in another order: last-bit differences)
        assert rows.initial_usd[i] == pytest.approx(alone.initial_usd, rel=1e-14)
        assert rows.maintenance_usd[i] == pytest.approx(alone.maintenance_usd, rel=1e-14)
    frame = rows.to_pandas()
    assert frame.index.name == "account" and len(frame) == 40


@pytest.mark.parametrize("method", ["deribit-pm", "deribit-standard", "grid"])
@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_dask_equals_local_bit_for_bit(client: Any, market: ro.Market, method: str, partitions: int) -> None:
    book = _book(market, 300)
    local = ro.margin_accounts(book, market, method)
    remote = ro.margin_accounts(book, market, method, client=client, partitions=partitions)
    assert remote.equals(local)
    assert np.isfinite(remote.initial_usd).all() and (remote.initial_usd > 0).any()
    # a changed figure is seen: equals() is not vacuous
    other = ro.margin_accounts(-book, market, method)
    assert not other.equals(local)


def test_dask_by_scheduler_address(client: Any, market: ro.Market) -> None:
    book = _book(market, 50, seed=9)
    remote = ro.margin_accounts(book, market, scheduler=client.scheduler.address, partitions=4)
    assert remote.equals(ro.margin_accounts(book, market))


def test_account_ranges_cover_every_account_once(market: ro.Market) -> None:
    book = _book(market, 101)
    for parts in (1, 2, 5, 101, 500):
        ranges = account_ranges(book, parts)
        assert ranges[0][0] == 0 and ranges[-1][1] == 101
        assert all(a < b for a, b in ranges) and all(b == c for (_, b), (c, _) in zip(ranges, ranges[1:]))
        assert len(ranges) <= min(parts, 101)
    with pytest.raises(ValueError, match="partitions must be a positive integer"):
        account_ranges(book, 0)
    with pytest.raises(ValueError, match="partitions= applies to a Dask run"):
        ro.margin_accounts(book, market, partitions=2)


def test_concat_keeps_worst_rows_of_the_whole_book(market: ro.Market) -> None:
    book = _book(market, 30)
    whole = ro.margin_accounts(book, market)
    parts, rows = [], []
    for a, b in account_ranges(book, 4):
        sub = ro.margin(book.account_range(a, b), market)
        parts.append(ro.margin_accounts(book.account_range(a, b), market))
        rows.append(len(sub.groups))
    assert AccountMargins.concat(parts, rows).equals(whole)


def test_parts_of_different_currencies_join_into_the_whole_books_result(market: ro.Market) -> None:
    """The figures the tasks send back (`_packed`) joined on the client: parts whose accounts hold other
    currencies and groups, each worst row counted from the whole book's first row, and a part whose lists of
    currencies and groups come in another order recoded."""
    from riskoffset.distributed import _joined, _packed
    from riskoffset.margining.pm_ranges import PMSetup

    names = market.instruments.names
    btc = np.flatnonzero([str(n).startswith("BTC-") for n in names])
    eth = np.flatnonzero([str(n).startswith("ETH_USDC-") or str(n).startswith("ETH-") for n in names])
    rng = np.random.default_rng(5)
    account = np.repeat(np.arange(24), 6)
    rows = np.where(account < 12, rng.choice(btc, len(account)), rng.choice(eth, len(account)))
    book = ro.Book.from_arrays(account, rows, rng.integers(-20, 21, len(account)) * 0.5 + 0.25,
                               instruments=market.instruments)  # fmt: skip
    whole = ro.margin_accounts(book, market)
    setup = PMSetup.of(book.instruments, market)
    ranges = [(0, 12), (12, 20), (20, 24)]
    packed = [_packed(book.account_range(a, b), setup, "deribit-pm", None) for a, b in ranges]
    assert set(packed[0][3].tolist()) != set(packed[1][3].tolist())  # (BTC accounts against ETH ones)
    joined = _joined(packed, book.accounts)
    assert joined.equals(whole)
    assert joined.account.flags.writeable and joined.account is not book.accounts
    # A part that lists the currencies and groups in another order (its codes follow its own lists) is recoded.
    currencies, groups = packed[1][1][::-1], packed[1][2][::-1]
    recode_currency = np.array([currencies.index(c) for c in packed[1][1]])
    recode_group = np.array([groups.index(g) for g in packed[1][2]])
    reordered = list(packed[1])
    reordered[1], reordered[2] = currencies, groups
    reordered[3], reordered[8] = recode_currency[packed[1][3]], recode_group[packed[1][8]]
    assert _joined([packed[0], tuple(reordered), packed[2]], book.accounts).equals(whole)


@pytest.mark.parametrize(
    ("values", "dtype"),
    [([], np.int8), ([-128, 0, 127], np.int8), ([-1, 300], np.int16), ([70_000], np.int32), ([2**40, -3], np.int64)],
)
def test_integers_sent_back_in_the_narrowest_type(values: list[int], dtype: Any) -> None:
    from riskoffset.distributed import _narrow

    narrow = _narrow(np.array(values, dtype=np.int64))
    assert narrow.dtype == dtype and narrow.tolist() == values


def test_everything_that_crosses_to_a_worker_pickles(market: ro.Market) -> None:
    book = _book(market, 5)
    for obj in (market, book, ro.Book.sample()):
        back = pickle.loads(pickle.dumps(obj))
        assert ro.margin(book, back if isinstance(back, ro.Market) else market).initial_usd == ro.margin(
            book, market
        ).initial_usd
    assert pickle.loads(pickle.dumps(book)).equals(book)
    for method in ("deribit-pm", "deribit-standard", "grid"):
        result = ro.margin(book, market, method)
        back = pickle.loads(pickle.dumps(result))
        assert back.initial == result.initial and back.to_dict() == result.to_dict()
        assert [r.worst_scenario for r in back.groups] == [r.worst_scenario for r in result.groups]
    rows = ro.margin_accounts(book, market)
    assert pickle.loads(pickle.dumps(rows)).equals(rows)
    whatif = WhatIf(book, market, account=book.accounts[0])
    again = pickle.loads(pickle.dumps(whatif))
    assert again.order("BTC-PERPETUAL", 1000) == whatif.order("BTC-PERPETUAL", 1000)
    balances = ro.Balances(book.accounts, ("BTC", "USDC"), np.full((5, 2), 3.0))
    assert pickle.loads(pickle.dumps(balances)).amounts.tolist() == balances.amounts.tolist()
    engine = ro.RiskEngine(book, market, balances=balances)  # the live engine's state, as its snapshot holds it
    moved = pickle.loads(pickle.dumps(engine))
    for e in (engine, moved):
        e.on_index("BTC", market.index["BTC"] * 0.9)
    assert moved.accounts().initial_usd.tolist() == engine.accounts().initial_usd.tolist()


@pytest.mark.parametrize("partitions", [1, 3])
def test_balances_on_the_cluster_equal_the_local_run(client: Any, market: ro.Market, partitions: int) -> None:
    """Coin balances inside the PM scenarios (X:PM): the cluster gives the local figures bit for bit, for a
    Book and for a book already on the workers."""
    book = _book(market, 200, seed=5)
    rng = np.random.default_rng(5)
    balances = ro.Balances(book.accounts, ("BTC", "ETH", "USDC"), rng.uniform(0, 3, (200, 3)) * [1, 10, 10_000])
    local = ro.margin_accounts(book, market, balances=balances)
    assert not local.equals(ro.margin_accounts(book, market))  # the balances matter
    remote = ro.margin_accounts(book, market, balances=balances, client=client, partitions=partitions)
    assert remote.equals(local)
    on_workers = scatter_book(book, client, partitions)
    assert ro.margin_accounts(on_workers, market, balances=balances).equals(local)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_dataset_read_by_the_workers_equals_the_loaded_book(
    client: Any, market: ro.Market, tmp_path: Any, fmt: str
) -> None:
    """Positions split over several files, an account's rows spread over files (and netting to zero for
    some instruments): margined on the cluster from the files = the same rows loaded as one Book."""
    pd = pytest.importorskip("pandas")
    book = _book(market, 120, seed=11)
    frame = pd.DataFrame(book.positions())
    frame["account"] = frame["account"].astype(str)
    frame["quantity"] = frame["quantity"].astype(float)
    # one position is split into two rows in different files; one extra pair nets to zero
    extra = pd.DataFrame(
        [
            {"account": "7", "instrument": "BTC-PERPETUAL", "quantity": 130.0},
            {"account": "7", "instrument": "BTC-PERPETUAL", "quantity": -130.0},
        ]
    )
    frame = pd.concat([frame, extra], ignore_index=True).sample(frac=1.0, random_state=2)
    chunks = np.array_split(np.arange(len(frame)), 4)
    paths = []
    for i, rows in enumerate(chunks):
        part = frame.iloc[rows]
        path = tmp_path / f"positions-{i}.{fmt}"
        part.to_csv(path, index=False) if fmt == "csv" else part.to_parquet(path, index=False)
        paths.append(str(path))
    expected = ro.margin_accounts(ro.Book.from_positions(frame.to_dict("records")), market)
    source = str(tmp_path / f"positions-*.{fmt}")
    got = ro.margin_accounts(source, market, client=client)
    assert got.equals(expected)
    assert ro.margin_accounts(paths, market, "deribit-standard", client=client).equals(
        ro.margin_accounts(ro.Book.from_positions(frame.to_dict("records")), market, "deribit-standard")
    )
    with pytest.raises(ValueError, match="pass client= or scheduler="):
        ro.margin_accounts(source, market)


def test_dataset_errors_name_the_problem(client: Any, market: ro.Market, tmp_path: Any) -> None:
    (tmp_path / "a.csv").write_text("account,instrument,amount\n1,BTC-PERPETUAL,10\n")
    with pytest.raises(ValueError, match="needs columns instrument .* found \\['account', 'amount', 'instrument'\\]"):
        ro.margin_accounts(str(tmp_path / "a.csv"), market, client=client)
    (tmp_path / "b.csv").write_text("account,instrument,quantity\n1,BTC-PERPETUAL,ten\n")
    with pytest.raises(ValueError, match="BTC-PERPETUAL: quantity 'ten' is not a number"):
        ro.margin_accounts(str(tmp_path / "b.csv"), market, client=client)
    with pytest.raises(ValueError, match="give .csv files, .parquet files"):
        ro.margin_accounts(str(tmp_path / "b.txt"), market, client=client)


def test_balances_inside_the_pm_scenarios(market: ro.Market) -> None:
    """A short BTC_USDC perpetual with a BTC balance: the balance hedges it inside the scenarios, so the
    account's margin falls; the figures are the account view's (X:PM) IM and MM in USD."""
    book = ro.Book.from_positions([
        {"account": "hedged", "instrument": "BTC_USDC-PERPETUAL", "quantity": -1.0},
        {"account": "bare", "instrument": "BTC_USDC-PERPETUAL", "quantity": -1.0},
    ])  # fmt: skip
    balances = ro.Balances.from_mapping({"hedged": {"BTC": 1.0}})
    plain = ro.margin_accounts(book, market)
    with_coin = ro.margin_accounts(book, market, balances=balances)
    hedged = list(with_coin.account).index("hedged")
    bare = list(with_coin.account).index("bare")
    # the price risk is hedged away; what is left is the margin's other parts (shocks, add-ons)
    assert with_coin.initial_usd[hedged] < 0.1 * plain.initial_usd[hedged]
    assert with_coin.initial_usd[bare] == plain.initial_usd[bare]
    view = ro.account(book, market, balances, "X:PM")
    assert with_coin.initial_usd[hedged] == pytest.approx(view.initial_usd[list(view.accounts).index("hedged")], rel=1e-12)
    with pytest.raises(ValueError, match="balances change the margin only under deribit-pm"):
        ro.margin_accounts(book, market, "deribit-standard", balances=balances)
