"""ro.Balances: collateral per account and currency from mappings, CSV, JSON and Deribit's account responses
(the formats of Deribit's API reference: private/get_account_summary, get_account_summaries, get_subaccounts)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro

# Shapes as Deribit's API documents them (numbers made up; extra fields kept to show they are ignored).
SUMMARY_BTC = {
    "jsonrpc": "2.0", "id": 2515, "usIn": 1, "usOut": 2, "usDiff": 1, "testnet": False,
    "result": {"currency": "BTC", "balance": 1.25, "equity": 1.31, "available_funds": 1.2, "margin_balance": 1.31,
               "initial_margin": 0.11, "maintenance_margin": 0.08, "options_value": 0.04, "futures_pl": 0.02,
               "session_upl": 0.06, "delta_total": 0.4},
}  # fmt: skip
SUMMARIES = {
    "jsonrpc": "2.0", "id": 1,
    "result": {"id": 123, "username": "desk-a", "email": "a@example.com", "type": "main",
               "summaries": [{"currency": "BTC", "balance": 2.0, "equity": 2.1},
                             {"currency": "ETH", "balance": 30.5, "equity": 29.0},
                             {"currency": "USDC", "balance": 150000.0, "equity": 150000.0}]},
}  # fmt: skip
SUBACCOUNTS = {
    "jsonrpc": "2.0", "id": 4947,
    "result": [
        {"id": 2, "username": "main", "type": "main",
         "portfolio": {"btc": {"balance": 0.5, "equity": 0.52}, "eth": {"balance": 0.0, "equity": 0.0}}},
        {"id": 7, "username": "sub-hedge", "type": "subaccount",
         "portfolio": {"btc": {"balance": 3.0, "equity": 2.9}, "usdc": {"balance": 1000.0, "equity": 1000.0}}},
    ],
}  # fmt: skip


def test_mapping_records_and_lookups() -> None:
    b = ro.Balances.from_mapping({"desk": {"btc": 1.5, "USDC": 20_000}, "hedge": {"ETH": 3}})
    assert b.currencies == ("BTC", "ETH", "USDC") and list(b.accounts) == ["desk", "hedge"]
    assert b.amount("desk", "usdc") == 20_000 and b.amount("hedge", "BTC") == 0.0
    assert b.to_dict() == {"desk": {"BTC": 1.5, "USDC": 20_000.0}, "hedge": {"ETH": 3.0}}
    summed = ro.Balances.from_records([("a", "BTC", 1), ("a", "btc", 0.5)])
    assert summed.amount("a", "BTC") == 1.5
    ints = ro.Balances.from_records([("12", "BTC", 1), ("3", "BTC", 2)])
    assert list(ints.accounts) == [3, 12]  # canonical integer labels read as integers, like a Book's
    assert ro.Balances.from_records([("007", "BTC", 1)]).accounts.tolist() == ["007"]
    assert pickle.loads(pickle.dumps(b)) == b


def test_deribit_account_summary_summaries_and_subaccounts() -> None:
    one = ro.Balances.from_deribit(SUMMARY_BTC, account="desk")
    assert one.to_dict() == {"desk": {"BTC": 1.25}}  # the cash balance, not the equity
    many = ro.Balances.from_deribit(SUMMARIES)
    assert many.to_dict() == {"desk-a": {"BTC": 2.0, "ETH": 30.5, "USDC": 150000.0}}
    subs = ro.Balances.from_deribit(SUBACCOUNTS)
    assert subs.to_dict() == {"main": {"BTC": 0.5}, "sub-hedge": {"BTC": 3.0, "USDC": 1000.0}}
    both = ro.Balances.from_deribit([SUMMARY_BTC, {"jsonrpc": "2.0", "result": {"currency": "ETH", "balance": 4.0}}])
    assert both.to_dict() == {"default": {"BTC": 1.25, "ETH": 4.0}}
    with pytest.raises(ValueError, match="is an error"):
        ro.Balances.from_deribit({"jsonrpc": "2.0", "id": 1, "result": None, "error": {"code": 13009, "message": "unauthorized"}})
    with pytest.raises(ValueError, match="needs 'currency' and 'balance'"):
        ro.Balances.from_deribit({"summaries": [{"currency": "BTC"}], "username": "x"})


def test_files(tmp_path: Path) -> None:
    csv_path = tmp_path / "balances.csv"
    csv_path.write_text("# desk balances\naccount,currency,amount\ndesk,BTC,1.5\ndesk,usdc,20000\nhedge,ETH,3\n")
    from_csv = ro.Balances.from_csv(csv_path)
    assert from_csv == ro.Balances.from_mapping({"desk": {"BTC": 1.5, "USDC": 20000}, "hedge": {"ETH": 3}})
    json_path = tmp_path / "balances.json"
    json_path.write_text('{"desk": {"BTC": 1.5, "USDC": 20000}, "hedge": {"ETH": 3}}')
    assert ro.Balances.from_json(json_path) == from_csv
    records = tmp_path / "records.json"
    records.write_text('[{"account": "desk", "currency": "BTC", "amount": 1.5}]')
    assert ro.Balances.from_json(records).to_dict() == {"desk": {"BTC": 1.5}}
    deribit = tmp_path / "summaries.json"
    import json

    deribit.write_text(json.dumps(SUMMARIES))
    assert ro.Balances.from_json(deribit).amount("desk-a", "ETH") == 30.5
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        ro.Balances.from_csv(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("account,coin,amount\na,BTC,1\n")
    with pytest.raises(ValueError, match="needs columns account, currency, amount"):
        ro.Balances.from_csv(bad)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"desk": {"BTC": float("nan")}}, "balance of account 'desk' in BTC: nan is not a finite amount"),
        ({"desk": {"BTC": -1.0}}, "balance of account 'desk' in BTC: -1.0 is negative"),
        ({"desk": {"BTC": "lots"}}, "balance of account 'desk' in BTC: 'lots' is not a number"),
        ({"desk": {"bitcoin!": 1.0}}, "'bitcoin!' is not a currency code"),
        ({"desk": 5}, "balances of account 'desk': expected"),
        ({"desk": {"BTC": 10**400}}, "is not a number"),
    ],
)
def test_bad_balances_name_account_and_currency(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ro.Balances.from_mapping(data)


def test_negative_balances_when_allowed_and_alignment_with_a_book() -> None:
    b = ro.Balances.from_mapping({"mm-btc": {"BTC": -0.5}}, allow_negative=True)
    assert b.amount("mm-btc", "BTC") == -0.5
    book = ro.Book.sample("market_maker")
    rows = ro.Balances.from_mapping({"mm-eth": {"ETH": 10}, "mm-btc": {"BTC": 2}}).for_accounts(book.accounts)
    assert list(book.accounts) == ["mm-btc", "mm-eth", "mm-hedge"]
    np.testing.assert_array_equal(rows, [[2.0, 0.0], [0.0, 10.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="not in the book: \\['typo'\\]"):
        ro.Balances.from_mapping({"typo": {"BTC": 1}}).for_accounts(book.accounts)
    with pytest.raises(KeyError, match="account 'nobody' has no balances"):
        b.amount("nobody", "BTC")
