"""Deribit instrument names, get_instruments objects and the columnar instrument table."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.instruments import (
    KIND_OPTION,
    PERPETUAL_EXPIRY_MS,
    Instrument,
    InstrumentTable,
    format_name,
    format_strike,
    parse_strike,
)

# Names from Deribit's "Instrument Naming" documentation (see docs/units.md) plus our own variations.
ROUND_TRIP = [
    "BTC-25MAR23",
    "BTC-5AUG23",
    "BTC-PERPETUAL",
    "SOL_USDC-PERPETUAL",
    "BTC-27DEC24-60000-C",
    "BTC-5AUG23-580-P",
    "XRP_USDC-30JUN23-0d625-C",
    "SOL_USDC-26MAR27-80-C",
    "ETH-1JAN27-3500d5-P",
    "BTC_USDC",
    "ETH_USDC-31DEC26",
]


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_parse_format_round_trip(name: str) -> None:
    inst = Instrument.parse(name)
    assert inst.format() == name
    assert Instrument.parse(inst.format()) == inst


def test_parsed_fields() -> None:
    opt = Instrument.parse("BTC-5AUG23-580-P")
    assert (opt.kind, opt.base, opt.settlement, opt.option_type, opt.strike) == (
        "option",
        "BTC",
        "inverse",
        "put",
        580.0,
    )
    assert opt.expiry == datetime(2023, 8, 5, 8, tzinfo=timezone.utc)  # 08:00 UTC, one-digit day
    assert opt.expiration_ms == 1691222400000
    assert opt.contract_size == 1.0 and opt.size_unit == "BTC" and opt.settlement_currency == "BTC"

    lin = Instrument.parse("XRP_USDC-30JUN23-0d625-C")
    assert lin.strike == 0.625 and lin.settlement == "linear" and lin.quote == "USDC"
    assert lin.underlying == "XRP" and lin.settlement_currency == "USDC"

    perp = Instrument.parse("BTC-PERPETUAL")
    assert perp.kind == "perpetual" and perp.expiry is None and perp.expiration_ms == PERPETUAL_EXPIRY_MS
    assert perp.contract_size == 10.0 and perp.size_unit == "USD"  # USD 10 per BTC-PERPETUAL contract
    assert Instrument.parse("ETH-PERPETUAL").contract_size == 1.0
    assert Instrument.parse("BTC_USDC-PERPETUAL").size_unit == "BTC"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("BTC-32DEC24", "DMMMYY"),
        ("BTC-05AUG23", "DMMMYY"),  # Deribit writes one-digit days without a leading zero
        ("BTC-31FEB25", "not a calendar date"),
        ("BTC-27DCE24", "month 'DCE'"),
        ("BTC-27DEC24-60000-X", "option type 'X'"),
        ("BTC-27DEC24-6e4-C", "strike '6e4'"),
        ("BTC-27DEC24-0-C", "strike must be > 0"),
        ("btc-PERPETUAL", "currency 'btc'"),
        ("BTC", "bare currency"),
        ("BTC-27DEC24-60000", "3 dash-separated parts"),
        ("", "currency ''"),
        ("BTC_EUR-27DEC24", "quote 'EUR'"),
    ],
)
def test_malformed_names_show_the_name_and_the_pattern(name: str, why: str) -> None:
    with pytest.raises(ValueError) as info:
        Instrument.parse(name)
    message = str(info.value)
    assert repr(name) in message and why in message
    assert "BASE-DMMMYY-STRIKE-C|P" in message


def test_strike_text() -> None:
    assert parse_strike("0d625") == 0.625 and format_strike(0.625) == "0d625"
    assert format_strike(60000.0) == "60000" and format_strike(3500.5) == "3500d5"
    with pytest.raises(ValueError):
        format_strike(-1.0)


def test_format_name_from_parts() -> None:
    expiry = datetime(2024, 12, 27, 8, tzinfo=timezone.utc)
    assert (
        format_name("BTC", "option", expiry=expiry, strike=60000, option_type="call") == "BTC-27DEC24-60000-C"
    )
    assert (
        format_name("XRP", "option", quote="USDC", expiry=expiry, strike=0.5, option_type="p")
        == "XRP_USDC-27DEC24-0d5-P"
    )
    assert format_name("BTC", "future", expiry=expiry) == "BTC-27DEC24"
    with pytest.raises(ValueError, match="needs an expiry"):
        format_name("BTC", "future")


# A get_instruments object shaped as in Deribit's OpenAPI schema (see docs/units.md); values illustrative.
OPTION_OBJECT = {
    "tick_size": 0.0005,
    "taker_commission": 0.0003,
    "strike": 60000.0,
    "settlement_period": "month",
    "settlement_currency": "BTC",
    "quote_currency": "BTC",
    "price_index": "btc_usd",
    "option_type": "call",
    "min_trade_amount": 0.1,
    "maker_commission": 0.0003,
    "kind": "option",
    "is_active": True,
    "instrument_type": "reversed",
    "instrument_name": "BTC-27DEC24-60000-C",
    "instrument_id": 124972,
    "expiration_timestamp": 1735286400000,
    "creation_timestamp": 1703836803000,
    "counter_currency": "USD",
    "contract_size": 1.0,
    "block_trade_commission": 0.0003,
    "base_currency": "BTC",
}
PERPETUAL_OBJECT = {
    "tick_size": 0.5,
    "taker_commission": 0.0005,
    "settlement_period": "perpetual",
    "settlement_currency": "BTC",
    "quote_currency": "USD",
    "min_trade_amount": 10.0,
    "maker_commission": 0.0,
    "kind": "future",
    "instrument_type": "reversed",
    "instrument_name": "BTC-PERPETUAL",
    "expiration_timestamp": 32503708800000,
    "contract_size": 10.0,
    "base_currency": "BTC",
    "max_leverage": 50,
}
LINEAR_PERP_OBJECT = {
    "tick_size": 0.5,
    "taker_commission": 0.0005,
    "settlement_period": "perpetual",
    "settlement_currency": "USDC",
    "quote_currency": "USDC",
    "counter_currency": "USDC",
    "min_trade_amount": 0.001,
    "maker_commission": 0.0,
    "kind": "future",
    "instrument_type": "linear",
    "instrument_name": "BTC_USDC-PERPETUAL",
    "expiration_timestamp": 32503708800000,
    "contract_size": 0.001,
    "base_currency": "BTC",
}


def test_from_get_instruments_objects() -> None:
    opt = Instrument.from_deribit(OPTION_OBJECT)
    assert opt.kind == "option" and opt.settlement == "inverse" and opt.strike == 60000.0
    assert opt.expiry == datetime(2024, 12, 27, 8, tzinfo=timezone.utc)
    assert (opt.tick_size, opt.maker_commission, opt.min_trade_amount) == (0.0005, 0.0003, 0.1)
    perp = Instrument.from_deribit(PERPETUAL_OBJECT)
    assert perp.kind == "perpetual" and perp.contract_size == 10.0 and perp.taker_commission == 0.0005
    lin = Instrument.from_deribit(LINEAR_PERP_OBJECT)
    assert lin.settlement == "linear" and lin.contract_size == 0.001 and lin.size_unit == "BTC"
    table = InstrumentTable.from_deribit({"jsonrpc": "2.0", "result": [OPTION_OBJECT, PERPETUAL_OBJECT]})
    assert len(table) == 2 and table["BTC-PERPETUAL"].tick_size == 0.5


def test_contradicting_get_instruments_object_is_an_error_naming_the_instrument() -> None:
    with pytest.raises(ValueError, match="BTC-27DEC24-60000-C.*strike"):
        Instrument.from_deribit({**OPTION_OBJECT, "strike": 65000.0})
    with pytest.raises(ValueError, match="BTC-27DEC24-60000-C.*expiration_timestamp"):
        Instrument.from_deribit({**OPTION_OBJECT, "expiration_timestamp": 1735286400000 + 86400000})
    with pytest.raises(ValueError, match="BTC-PERPETUAL.*settlement"):
        Instrument.from_deribit({**PERPETUAL_OBJECT, "instrument_type": "linear"})


def test_table_columns() -> None:
    table = InstrumentTable.from_names(ROUND_TRIP + ["BTC-PERPETUAL"])  # duplicate collapses
    assert len(table) == len(ROUND_TRIP)
    for column in (table.flag, table.strike, table.expiration_ms, table.contract_size, table.kind):
        assert column.flags.c_contiguous and not column.flags.writeable and len(column) == len(table)
    i = table.row("BTC-5AUG23-580-P")
    assert table.kind[i] == KIND_OPTION and table.flag[i] == -1.0 and table.strike[i] == 580.0
    assert table.settlement[i] == 1 and table.underlyings[table.underlying[i]] == "BTC"
    j = table.row("BTC-PERPETUAL")
    assert table.flag[j] == 0.0 and np.isnan(table.strike[j])
    rows = table.rows(np.array(["BTC-PERPETUAL", "BTC-5AUG23-580-P", "BTC-PERPETUAL"]))
    assert rows.tolist() == [j, i, j]
    with pytest.raises(ValueError, match="BTC-1JAN30"):
        table.rows(["BTC-1JAN30"])
    assert table.expiry_dates()[j] == "perpetual" and table.expiry_dates()[i] == "2023-08-05"
    assert table.to_dict()["kind"][i] == "option"
    assert "InstrumentTable(" in repr(table)


def test_same_name_with_different_attributes_is_rejected() -> None:
    a = Instrument.parse("BTC-PERPETUAL")
    b = Instrument.parse("BTC-PERPETUAL", contract_size=1.0)
    with pytest.raises(ValueError, match="BTC-PERPETUAL"):
        InstrumentTable([a, b])


def test_public_names() -> None:
    assert ro.Instrument is Instrument and ro.InstrumentTable is InstrumentTable


def test_equality_and_hash_with_missing_figures() -> None:
    """Missing figures are NaN; two instruments that differ in nothing are equal and hash alike whatever
    NaN object each holds (Python 3.13's dataclass __eq__ compares fields with ==, and NaN != NaN)."""
    import dataclasses

    a = Instrument.parse("BTC-PERPETUAL")
    b = Instrument.parse("BTC-PERPETUAL")
    c = dataclasses.replace(a, tick_size=float("nan"), maker_commission=float("nan"))
    assert a == b == c
    assert len({a, b, c}) == 1
    assert a != dataclasses.replace(a, tick_size=0.5)
    assert a != Instrument.parse("ETH-PERPETUAL")
    o = Instrument.parse("BTC-25DEC26-100000-C")
    assert o == Instrument.parse("BTC-25DEC26-100000-C") and hash(o) == hash(
        Instrument.parse("BTC-25DEC26-100000-C")
    )


@pytest.mark.parametrize("spelling", ["call", "C", "c", "CALL", "cAll", True])
def test_option_type_any_case(spelling: object) -> None:
    """Every spelling of the flag rule builds the same call (stored as "call")."""
    from riskoffset.instruments import format_name

    expiry = datetime(2026, 12, 25, 8, tzinfo=timezone.utc)
    assert (
        format_name("BTC", "option", expiry=expiry, strike=100000, option_type=spelling)
        == "BTC-25DEC26-100000-C"
    )  # type: ignore[arg-type]
    a = Instrument.parse("BTC-25DEC26-100000-C")
    assert dataclasses_replace(a, spelling).option_type == "call"


def dataclasses_replace(inst: Instrument, option_type: object) -> Instrument:
    import dataclasses

    return dataclasses.replace(inst, option_type=option_type)  # type: ignore[arg-type]


def test_option_type_unknown_is_refused() -> None:
    with pytest.raises(ValueError, match="option_type.*'calls'"):
        Instrument("X", "option", "BTC", "USD", "inverse", option_type="calls")


def test_option_expiries_group_every_option_once_by_underlying_and_expiry() -> None:
    table = ro.Market.sample().instruments.take(np.arange(1581, -1, -1))  # reversed: rows out of name order
    layout = table.option_expiries()
    assert layout is table.option_expiries()  # computed once per table
    options = np.flatnonzero(table.kind == KIND_OPTION)
    assert np.array_equal(layout.rows, options)
    assert layout.names == table.names[options].tolist()
    seen = np.concatenate([members for _, _, members in layout.groups])
    assert np.array_equal(np.sort(seen), np.arange(len(options)))  # a partition of the options
    keys = [(code, ms) for code, ms, _ in layout.groups]
    assert keys == sorted(set(keys))
    for j, (code, ms, members) in enumerate(layout.groups):
        rows = options[members]
        assert (table.underlying[rows] == code).all() and (table.expiration_ms[rows] == ms).all()
        assert np.array_equal(members, np.sort(members)) and (layout.group_of[members] == j).all()
        assert layout.sizes[j] == len(members) and layout.firsts[j] == members[0]
    assert len(layout.sizes) == len(layout.firsts) == len(layout.groups)
    assert table.take(np.arange(10)).option_expiries() is not layout  # a sub-table has its own
    futures = np.flatnonzero(table.kind != KIND_OPTION)[:3]
    assert table.take(futures).option_expiries().sizes == []  # no options, no groups


def test_priced_rows_and_options_by_underlying() -> None:
    """The rows a market prices by their own mark, on the index, with an expiry; the options per underlying."""
    from riskoffset.instruments import KIND_FUTURE, KIND_PERPETUAL, KIND_SPOT

    table = ro.InstrumentTable.from_names(["BTC-PERPETUAL", "ETH-25DEC26-3500-C", "BTC_USDC", "BTC-25DEC26",
                                           "BTC-25DEC26-90000-P", "ETH-PERPETUAL"])  # fmt: skip
    priced = table.priced_rows()
    assert priced is table.priced_rows()
    want = np.flatnonzero((table.kind == KIND_FUTURE) | (table.kind == KIND_PERPETUAL))
    assert priced.futures == [(int(r), str(table.names[r])) for r in want]
    assert np.array_equal(priced.spot, np.flatnonzero(table.kind == KIND_SPOT))
    assert np.array_equal(priced.dated, (table.kind == KIND_OPTION) | (table.kind == KIND_FUTURE))
    btc, eth = table.underlyings.index("BTC"), table.underlyings.index("ETH")
    want_groups = sorted([(btc, [4]), (eth, [1])])
    assert [(c, m.tolist()) for c, m in table.options_by_underlying()] == want_groups
