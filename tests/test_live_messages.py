"""Deribit subscription notifications -> typed updates (riskoffset.live.messages).

The messages are Deribit's documented examples (docs.deribit.com, the channel pages: deribit_price_index,
markprice.options, user.trades, user.portfolio) or hand-written in the documented shapes; each expected value
is read off the message by hand (a sell of 8940 is -8940.0, a mark_iv of 62.89 % is 0.6289)."""

from __future__ import annotations

import copy
import math
from collections import Counter
from types import MappingProxyType
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from riskoffset.live import (
    BalanceUpdate,
    IndexUpdate,
    MessageError,
    TickerUpdate,
    TradeUpdate,
    messages,
    parse_notification,
)


def rpc(channel: str, data: Any, **top: Any) -> dict[str, Any]:
    """The JSON-RPC notification form, with extra top-level fields (e.g. account)."""
    return {"jsonrpc": "2.0", "method": "subscription", **top, "params": {"channel": channel, "data": data}}


# Deribit's documented notification example (docs "Notifications").
INDEX = {"timestamp": 1535098298227, "price": 6521.17, "index_name": "btc_usd"}

# An option ticker in the documented ticker shape, with the values of Tardis's documented Deribit row
# (BTC-9JUN20-9875-P, tests/test_market.py): mark_iv in percent, underlying_price the expiry's forward.
OPTION_TICKER = {
    "underlying_price": 9756.36,
    "underlying_index": "SYN.BTC-9JUN20",
    "timestamp": 1591574399413,
    "state": "open",
    "settlement_price": 0.0235,
    "open_interest": 0.1,
    "min_price": 0.0005,
    "max_price": 0.0785,
    "mark_price": 0.02210436,
    "mark_iv": 62.89,
    "last_price": 0.0295,
    "interest_rate": 0,
    "instrument_name": "BTC-9JUN20-9875-P",
    "index_price": 9742.13,
    "greeks": {"vega": 2.24964, "theta": -53.05655, "rho": -0.22796, "gamma": 0.00103, "delta": -0.61752},
    "estimated_delivery_price": 9742.13,
    "bid_iv": 55.91,
    "best_bid_price": 0.0205,
    "best_bid_amount": 15.0,
    "best_ask_price": 0.0235,
    "best_ask_amount": 15.0,
    "ask_iv": 68.94,
}

# A perpetual's ticker (hand-written in the documented shape): no mark_iv, no underlying_price.
PERPETUAL_TICKER = {
    "timestamp": 1623060194301,
    "state": "open",
    "settlement_price": 36074.78,
    "open_interest": 502097590,
    "min_price": 35546.3,
    "max_price": 36628.19,
    "mark_price": 36089.53,
    "last_price": 36088.5,
    "interest_value": 1.3,
    "instrument_name": "BTC-PERPETUAL",
    "index_price": 36084.29,
    "funding_8h": 0.00000287,
    "estimated_delivery_price": 36084.29,
    "current_funding": 0,
    "best_bid_price": 36088.5,
    "best_bid_amount": 26790,
    "best_ask_price": 36089.0,
    "best_ask_amount": 900,
}

# Deribit's documented markprice.options example: "iv" is a decimal here (0.9 = 90 %).
MARKPRICE = [
    {"timestamp": 1622470378005, "mark_price": 0.0333, "iv": 0.9, "instrument_name": "BTC-2JUN21-37000-P"},
    {"timestamp": 1622470378005, "mark_price": 0.117, "iv": 0.9, "instrument_name": "BTC-4JUN21-40500-P"},
    {"timestamp": 1622470378005, "mark_price": 0.0177, "iv": 0.9, "instrument_name": "BTC-4JUN21-38250-C"},
    {"timestamp": 1622470378005, "mark_price": 0.0098, "iv": 0.9, "instrument_name": "BTC-1JUN21-37000-C"},
    {"timestamp": 1622470378005, "mark_price": 0.0371, "iv": 0.9, "instrument_name": "BTC-4JUN21-36500-P"},
]

# Deribit's documented user.trades.{kind}.{currency}.{interval} example: a sell of 8940 USD of BTC-25SEP20.
FUTURE_TRADE = {
    "trade_seq": 74405,
    "trade_id": "48079262",
    "timestamp": 1590484255886,
    "tick_direction": 2,
    "state": "filled",
    "reduce_only": False,
    "price": 8947,
    "post_only": False,
    "order_type": "limit",
    "order_id": "4008978075",
    "matching_id": None,
    "mark_price": 8970.03,
    "liquidity": "T",
    "instrument_name": "BTC-25SEP20",
    "index_price": 8953.53,
    "fee_currency": "BTC",
    "fee": 0.00049961,
    "direction": "sell",
    "amount": 8940,
}

# An option buy in the same shape (hand-written): 1.5 BTC of a put at 0.0235 BTC, a maker rebate.
OPTION_TRADE = {
    **FUTURE_TRADE,
    "trade_id": "48079300",
    "instrument_name": "BTC-9JUN20-9875-P",
    "direction": "buy",
    "amount": 1.5,
    "price": 0.0235,
    "fee": -0.0001,
    "liquidity": "M",
}

# Deribit's documented user.portfolio.{currency} example (trimmed to the fields read and a few more).
PORTFOLIO = {
    "total_pl": 0.00000425,
    "margin_balance": 0.2340038,
    "maintenance_margin": 0.00009141,
    "initial_margin": 0.00012542,
    "equity": 0.2340038,
    "delta_total": 0.0043,
    "currency": "BTC",
    "balance": 0.23399957,
    "available_withdrawal_funds": 0.23387415,
    "available_funds": 0.23387838,
}


# ------------------------------------------------------------------------------------------- index
def test_index_notification_json_rpc_and_bare_forms() -> None:
    expected = [IndexUpdate("BTC", 6521.17, 1535098298227)]
    assert parse_notification(rpc("deribit_price_index.btc_usd", INDEX)) == expected
    assert parse_notification({"channel": "deribit_price_index.btc_usd", "data": INDEX}) == expected
    eth = {"timestamp": 1535098298227, "price": 250.5, "index_name": "eth_usd"}
    assert parse_notification(rpc("deribit_price_index.eth_usd", eth)) == [
        IndexUpdate("ETH", 250.5, 1535098298227)
    ]


@pytest.mark.parametrize("name", ["btc_usdc", "eth_usdc", "sol_usdc", "btcdvol_usdc", "usdc_usdt"])
def test_non_usd_indices_are_ignored_and_counted(name: str) -> None:
    ignored: Counter[str] = Counter()
    data = {**INDEX, "index_name": name}
    assert parse_notification(rpc(f"deribit_price_index.{name}", data), ignored) == []
    assert ignored == Counter({f"deribit_price_index.{name}": 1})
    # ... but a malformed one is still an error
    with pytest.raises(MessageError, match="price"):
        parse_notification(rpc(f"deribit_price_index.{name}", {**data, "price": -1}))


def test_index_name_must_match_the_channel() -> None:
    with pytest.raises(MessageError, match=r"deribit_price_index\.eth_usd: field data\.index_name"):
        parse_notification(rpc("deribit_price_index.eth_usd", INDEX))


# ------------------------------------------------------------------------------------------- tickers
def test_option_ticker_mark_iv_percent_to_decimal() -> None:
    (u,) = parse_notification(rpc("ticker.BTC-9JUN20-9875-P.100ms", OPTION_TICKER))
    assert isinstance(u, TickerUpdate)
    assert u.instrument == "BTC-9JUN20-9875-P" and u.timestamp == 1591574399413
    assert u.mark_iv == pytest.approx(0.6289, rel=1e-15)  # 62.89 %
    assert u.mark_price == 0.02210436 and u.underlying_price == 9756.36 and u.index_price == 9742.13


def test_perpetual_ticker_has_no_iv() -> None:
    (u,) = parse_notification({"channel": "ticker.BTC-PERPETUAL.raw", "data": PERPETUAL_TICKER})
    assert u == TickerUpdate("BTC-PERPETUAL", 1623060194301, 36089.53, None, None, 36084.29)


def test_markprice_options_iv_is_decimal() -> None:
    updates = parse_notification(rpc("markprice.options.btc_usd", MARKPRICE))
    assert [u.instrument for u in updates] == [e["instrument_name"] for e in MARKPRICE]
    assert all(isinstance(u, TickerUpdate) and u.mark_iv == 0.9 for u in updates)  # 0.9 stays 0.9
    assert [u.mark_price for u in updates] == [0.0333, 0.117, 0.0177, 0.0098, 0.0371]
    assert all(u.timestamp == 1622470378005 and u.underlying_price is None for u in updates)  # type: ignore[union-attr]
    assert parse_notification(rpc("markprice.options.btc_usd", [])) == []


# ------------------------------------------------------------------------------------------- account data
def test_user_trades_signed_quantities_and_account_at_top_level() -> None:
    msg = rpc("user.trades.future.BTC.100ms", [FUTURE_TRADE], account="mm-btc")
    (u,) = parse_notification(msg)
    assert u == TradeUpdate(
        "mm-btc", "BTC-25SEP20", -8940.0, 8947.0, 0.00049961, "BTC", 1590484255886, "48079262"
    )
    (o,) = parse_notification(rpc("user.trades.option.BTC.raw", [OPTION_TRADE], account=7))
    assert isinstance(o, TradeUpdate)
    assert (o.account, o.quantity, o.price, o.fee) == (
        7,
        1.5,
        0.0235,
        -0.0001,
    )  # buy +, a rebate stays negative


def test_user_trades_account_inside_params_and_instrument_channel() -> None:
    # Deribit's documented user.trades.{instrument_name}.{interval} example: two sells of 20 USD.
    second = {**FUTURE_TRADE, "instrument_name": "BTC-PERPETUAL", "trade_id": "48079255", "amount": 20}
    first = {**second, "trade_id": "48079254"}
    msg = {
        "jsonrpc": "2.0",
        "method": "subscription",
        "params": {"channel": "user.trades.BTC-PERPETUAL.100ms", "account": "sub-1", "data": [first, second]},
    }
    updates = parse_notification(msg)
    assert [(u.account, u.quantity, u.trade_id) for u in updates] == [  # type: ignore[union-attr]
        ("sub-1", -20.0, "48079254"),
        ("sub-1", -20.0, "48079255"),
    ]


def test_portfolio_balance() -> None:
    (u,) = parse_notification(rpc("user.portfolio.btc", PORTFOLIO, account="mm-btc"))
    assert u == BalanceUpdate("mm-btc", "BTC", 0.23399957, None)  # Deribit's object carries no time
    (t,) = parse_notification(
        rpc("user.portfolio.BTC", {**PORTFOLIO, "timestamp": 1590484255886}, account="a")
    )
    assert t == BalanceUpdate("a", "BTC", 0.23399957, 1590484255886)
    (e,) = parse_notification(rpc("user.portfolio.any", {**PORTFOLIO, "currency": "eth"}, account="a"))
    assert e == BalanceUpdate("a", "ETH", 0.23399957, None)  # 'any' carries every currency


@pytest.mark.parametrize(
    "msg",
    [
        rpc("user.portfolio.btc", PORTFOLIO),
        rpc("user.trades.future.BTC.raw", [FUTURE_TRADE]),
        rpc("user.trades.future.BTC.raw", [FUTURE_TRADE], account=""),
        rpc("user.trades.future.BTC.raw", [FUTURE_TRADE], account=True),
        rpc("user.trades.future.BTC.raw", [FUTURE_TRADE], account=["a"]),
    ],
    ids=["portfolio-none", "trades-none", "empty", "bool", "list"],
)
def test_user_messages_need_an_account(msg: dict[str, Any]) -> None:
    with pytest.raises(MessageError, match="account") as info:
        parse_notification(msg)
    assert info.value.field == "account"


def test_contradicting_accounts() -> None:
    msg = rpc("user.portfolio.btc", PORTFOLIO, account="a")
    msg["params"]["account"] = "b"
    with pytest.raises(MessageError, match="account 'a' at the top level contradicts account 'b'"):
        parse_notification(msg)
    msg["params"]["account"] = "a"
    assert len(parse_notification(msg)) == 1


# ------------------------------------------------------------------------------------------- ignored
@pytest.mark.parametrize(
    ("msg", "key"),
    [
        (rpc("book.BTC-PERPETUAL.100ms", {"bids": [], "asks": []}), "book.BTC-PERPETUAL.100ms"),
        (rpc("trades.BTC-PERPETUAL.raw", [FUTURE_TRADE]), "trades.BTC-PERPETUAL.raw"),
        (rpc("user.orders.future.BTC.raw", {"order_id": "1"}), "user.orders.future.BTC.raw"),
        (rpc("user.changes.future.BTC.raw", {"trades": [FUTURE_TRADE]}), "user.changes.future.BTC.raw"),
        (rpc("user.trades.future_combo.BTC.raw", [{"instrument_name": "BTC-FS-25SEP20_PERP"}]),
         "user.trades.future_combo.BTC.raw"),
        (rpc("estimated_expiration_price.btc_usd", {"price": 1}), "estimated_expiration_price.btc_usd"),
        ({"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}, "(heartbeat)"),
        ({"jsonrpc": "2.0", "id": 42, "result": ["ticker.BTC-PERPETUAL.raw"]}, "(response)"),
        ({"jsonrpc": "2.0", "id": 43, "error": {"code": 10000, "message": "x"}}, "(response)"),
    ],
)  # fmt: skip
def test_other_channels_and_messages_are_ignored(msg: dict[str, Any], key: str) -> None:
    ignored: Counter[str] = Counter()
    assert parse_notification(msg, ignored) == []
    assert parse_notification(msg) == []
    assert ignored == Counter({key: 1})


# ------------------------------------------------------------------------------------------- malformed
def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation of a message: set (or with value DELETE, remove) the field at path (dots, [i] for lists)."""

    def apply(msg: dict[str, Any]) -> None:
        node: Any = msg
        keys = [int(k) if k.isdigit() else k for k in path.replace("[", ".").replace("]", "").split(".")]
        for k in keys[:-1]:
            node = node[k]
        if value is DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value

    return apply


DELETE = object()
IDX = rpc("deribit_price_index.btc_usd", INDEX)
OPT = rpc("ticker.BTC-9JUN20-9875-P.100ms", OPTION_TICKER)
PERP = rpc("ticker.BTC-PERPETUAL.100ms", PERPETUAL_TICKER)
MARK = rpc("markprice.options.btc_usd", MARKPRICE)
TRD = rpc("user.trades.future.BTC.raw", [FUTURE_TRADE], account="a")
OTRD = rpc("user.trades.option.BTC.raw", [OPTION_TRADE], account="a")
PF = rpc("user.portfolio.btc", PORTFOLIO, account="a")

BAD = [
    # (message, mutation, field named)
    (IDX, _set("params.data.price", DELETE), "price"),
    (IDX, _set("params.data.price", 0), "price"),
    (IDX, _set("params.data.price", -6521.17), "price"),
    (IDX, _set("params.data.price", math.nan), "price"),
    (IDX, _set("params.data.price", math.inf), "price"),
    (IDX, _set("params.data.price", True), "price"),
    (IDX, _set("params.data.price", "6521.17"), "price"),
    (IDX, _set("params.data.price", 10**400), "price"),
    (IDX, _set("params.data.timestamp", 1535098298227.5), "timestamp"),
    (IDX, _set("params.data.timestamp", 10**16), "timestamp"),
    (IDX, _set("params.data.timestamp", -1), "timestamp"),
    (IDX, _set("params.data.timestamp", None), "timestamp"),
    (IDX, _set("params.data.index_name", 5), "index_name"),
    (IDX, _set("params.data", [INDEX]), "data"),
    (IDX, _set("params.data", None), "data"),
    (OPT, _set("params.data.mark_iv", -1.0), "mark_iv"),
    (OPT, _set("params.data.mark_iv", 2000.0), "mark_iv"),  # 20.0 as a decimal: not a vol
    (OPT, _set("params.data.mark_iv", math.nan), "mark_iv"),
    (OPT, _set("params.data.mark_price", -0.01), "mark_price"),
    (OPT, _set("params.data.underlying_price", 0), "underlying_price"),
    (OPT, _set("params.data.instrument_name", "BTC-9JUN20-9875-C"), "instrument_name"),  # not the channel's
    (PERP, _set("params.data.mark_price", 0), "mark_price"),  # a future's mark must be > 0
    (PERP, _set("params.data.index_price", -1), "index_price"),
    (PERP, _set("params.channel", "ticker.BTC-PERPETUAL"), "channel"),
    (MARK, _set("params.data[2].iv", 65.2), "iv"),  # percent in the decimal channel
    (MARK, _set("params.data[4].mark_price", DELETE), "mark_price"),
    (MARK, _set("params.data[0].instrument_name", DELETE), "instrument_name"),
    (MARK, _set("params.data", MARKPRICE[0]), "data"),
    (MARK, _set("params.data[1]", 7), "data[1]"),
    (TRD, _set("params.data[0].direction", "long"), "direction"),
    (TRD, _set("params.data[0].amount", 0), "amount"),
    (TRD, _set("params.data[0].amount", -8940), "amount"),
    (TRD, _set("params.data[0].amount", math.nan), "amount"),
    (TRD, _set("params.data[0].price", 0), "price"),
    (TRD, _set("params.data[0].fee", DELETE), "fee"),
    (TRD, _set("params.data[0].fee", math.inf), "fee"),
    (TRD, _set("params.data[0].fee_currency", DELETE), "fee_currency"),
    (TRD, _set("params.data[0].trade_id", None), "trade_id"),
    (TRD, _set("params.data[0].trade_id", 1.5), "trade_id"),
    (TRD, _set("params.data[0].instrument_name", "BTC_25SEP20"), "instrument_name"),
    (
        TRD,
        _set("params.data[0].instrument_name", "BTC-25SEP20-9000-C"),
        "instrument_name",
    ),  # option on future
    (OTRD, _set("params.data[0].instrument_name", "BTC-PERPETUAL"), "instrument_name"),
    (TRD, _set("params.data", FUTURE_TRADE), "data"),
    (TRD, _set("params.channel", "user.trades.BTC-25SEP20"), "channel"),
    (TRD, _set("params.channel", "user.trades.BTC-25SEP20.raw.x.y"), "channel"),
    (PF, _set("params.data.balance", math.nan), "balance"),
    (PF, _set("params.data.balance", DELETE), "balance"),
    (PF, _set("params.data.currency", "ETH"), "currency"),
    (PF, _set("params.data.timestamp", "now"), "timestamp"),
    (PF, _set("params", [1]), "params"),
    (PF, _set("params.channel", None), "channel"),
    (PF, _set("params.data", DELETE), "data"),
]


@pytest.mark.parametrize(
    ("msg", "mutate", "field"),
    BAD,
    ids=[f"{m['params']['channel']}-{f}-{i}" for i, (m, _, f) in enumerate(BAD)],
)
def test_malformed_messages_name_channel_and_field(msg: dict[str, Any], mutate: Any, field: str) -> None:
    bad = copy.deepcopy(msg)
    parse_notification(bad)  # the unmutated message is fine
    mutate(bad)
    with pytest.raises(MessageError) as info:
        parse_notification(bad)
    assert info.value.field == field
    assert field.split("[")[0] in str(info.value)
    if field not in ("params", "channel"):
        assert str(info.value).startswith(msg["params"]["channel"])


@pytest.mark.parametrize(
    "msg",
    [[1, 2], "text", None, {"data": INDEX}, {"jsonrpc": "2.0", "method": "subscription"}, {"method": 5}],
    ids=["list", "str", "none", "no-channel", "no-params", "method-not-str"],
)
def test_not_a_notification(msg: Any) -> None:
    with pytest.raises(MessageError):
        parse_notification(msg)


# ------------------------------------------------------------------------------------------- property
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
CHANNELS = st.sampled_from(
    [
        "deribit_price_index.btc_usd",
        "deribit_price_index.btc_usdc",
        "ticker.BTC-PERPETUAL.raw",
        "ticker.BTC-9JUN20-9875-P.100ms",
        "markprice.options.btc_usd",
        "user.trades.future.BTC.raw",
        "user.trades.BTC-PERPETUAL.raw",
        "user.portfolio.btc",
        "user.trades",
        "ticker",
        "",
    ]
)
FIELDS = st.sampled_from(
    ["price", "timestamp", "index_name", "instrument_name", "mark_price", "mark_iv", "iv", "direction", "amount",
     "fee", "fee_currency", "trade_id", "currency", "balance", "underlying_price", "index_price"]
)  # fmt: skip
OBJECTS = st.dictionaries(FIELDS, JSON, max_size=10)


def _outcome(msg: Any) -> None:
    try:
        result = parse_notification(msg, Counter())
    except MessageError:
        return
    assert isinstance(result, list)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_arbitrary_json_gives_a_list_or_message_error(msg: Any) -> None:
    _outcome(msg)


@settings(max_examples=500, deadline=None)
@given(
    CHANNELS,
    st.one_of(JSON, OBJECTS, st.lists(OBJECTS, max_size=3)),
    st.one_of(st.none(), JSON),
    st.booleans(),
)
def test_known_channels_with_arbitrary_data(channel: str, data: Any, account: Any, bare: bool) -> None:
    msg: dict[str, Any] = {"channel": channel, "data": data} if bare else rpc(channel, data)
    if account is not None:
        msg["account"] = account
    _outcome(msg)


# ------------------------------------------------------------------ the plain path against the field-by-field one
# A trade or markprice object whose fields all have their usual types is read in one go; anything else field by
# field, which names what is wrong.  A dict takes the first path, the same object behind a read-only mapping
# view the second: both must give the same updates, or the same error.
_MISSING = object()
ODD_NUMBERS = st.one_of(
    st.sampled_from([0, 0.0, -0.0, -1.0, math.inf, -math.inf, math.nan, True, "1.5", None, _MISSING, 2**1100, 2**53]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**60), 2**60),
)
GOOD_NUMBERS = st.one_of(st.floats(min_value=1e-8, max_value=1e6), st.integers(1, 10**6))
# Per field: usual values, and odd ones (wrong types, out of range, missing) of which a drawn object takes a few.
TRADE_FIELDS = {
    "instrument_name": (
        st.sampled_from(["BTC-PERPETUAL", "BTC-25SEP20", "BTC-9JUN20-9875-P", "ETH-PERPETUAL"]),
        st.sampled_from(["NOT-AN-INSTRUMENT", "", 5, None, _MISSING]),
    ),
    "direction": (st.sampled_from(["buy", "sell"]), st.sampled_from(["BUY", "", None, 1, _MISSING])),
    "amount": (GOOD_NUMBERS, ODD_NUMBERS),
    "price": (GOOD_NUMBERS, ODD_NUMBERS),
    "fee": (st.one_of(GOOD_NUMBERS, st.floats(-1.0, 0.0)), ODD_NUMBERS),
    "fee_currency": (st.sampled_from(["BTC", "btc", "usdc"]), st.sampled_from(["", None, 3, _MISSING])),
    "timestamp": (
        st.integers(0, 10**15 - 1),
        st.one_of(st.integers(-5, -1), st.integers(10**15, 2 * 10**15), st.sampled_from([1.0e12, 1.5, True, None, "1", _MISSING])),
    ),
    "trade_id": (st.one_of(st.text(min_size=1, max_size=5), st.integers(0, 10**9)), st.sampled_from(["", True, None, 1.5, _MISSING])),
}
MARK_FIELDS = {
    "instrument_name": TRADE_FIELDS["instrument_name"],
    "mark_price": (st.one_of(GOOD_NUMBERS, st.just(0.0)), ODD_NUMBERS),
    "iv": (st.one_of(st.floats(0.0, 10.0), st.just(None), st.just(_MISSING)), st.one_of(ODD_NUMBERS, st.just(10.000001))),
    "timestamp": TRADE_FIELDS["timestamp"],
}


def _objects(fields: dict[str, Any]) -> Any:
    """Objects of usual values with up to two fields odd (or missing)."""

    @st.composite
    def an_object(draw: Any) -> dict[str, Any]:
        odd = draw(st.sets(st.sampled_from(sorted(fields)), max_size=2))
        drawn = {k: draw(bad if k in odd else good) for k, (good, bad) in fields.items()}
        return {k: v for k, v in drawn.items() if v is not _MISSING}

    return an_object()


def _parsed(msg: dict[str, Any]) -> Any:
    try:
        return parse_notification(msg)
    except MessageError as exc:
        return ("error", str(exc))


def _both_paths(channel: str, entries: list[dict[str, Any]], **top: Any) -> tuple[Any, Any]:
    plain = _parsed(rpc(channel, entries, **top))
    by_field = _parsed(rpc(channel, [MappingProxyType(e) for e in entries], **top))
    return plain, by_field


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(["user.trades.future.BTC.raw", "user.trades.option.any.raw", "user.trades.any.any.raw",
                     "user.trades.BTC-PERPETUAL.raw"]),
    st.lists(_objects(TRADE_FIELDS), min_size=1, max_size=2),
    st.sampled_from([7, "acct-1", True, ""]),
)  # fmt: skip
def test_a_trade_read_in_one_go_or_field_by_field_gives_the_same(channel: str, entries: Any, account: Any) -> None:
    plain, by_field = _both_paths(channel, entries, account=account)
    assert plain == by_field


@settings(max_examples=400, deadline=None)
@given(st.lists(_objects(MARK_FIELDS), min_size=1, max_size=3))
def test_a_markprice_entry_read_in_one_go_or_field_by_field_gives_the_same(entries: Any) -> None:
    plain, by_field = _both_paths("markprice.options.btc_usd", entries)
    assert plain == by_field


def test_the_usual_objects_are_read_in_one_go() -> None:
    """Deribit's documented objects take the plain path (else the tests above compare the slow path with
    itself)."""
    assert messages._plain_trade(FUTURE_TRADE, 7, None, "future") == parse_notification(
        rpc("user.trades.future.BTC.raw", [FUTURE_TRADE], account=7)
    )[0]
    assert messages._plain_trade(OPTION_TRADE, 7, "BTC-9JUN20-9875-P", None) is not None
    assert all(messages._plain_mark(e) is not None for e in MARKPRICE)
