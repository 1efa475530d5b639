"""Deribit JSON-RPC subscription notifications -> typed updates for a live margin engine.

Channels read (docs/live-streams.md has the field tables and units):

- ``deribit_price_index.{index_name}`` -> `IndexUpdate` for ``*_usd`` indices (``btc_usd`` -> "BTC"); other
  indices (``btc_usdc``, volatility indices, ...) are ignored.
- ``ticker.{instrument_name}.{interval}`` -> `TickerUpdate`; the ticker's ``mark_iv`` is in percent and is
  stored as a decimal (65.2 -> 0.652).
- ``markprice.options.{index_name}`` -> one `TickerUpdate` per entry; this channel's ``iv`` is already a
  decimal (an ``iv`` of 0.9 sits next to option marks of a few hundredths of a coin; docs/live-streams.md).
- ``user.trades.{instrument_name}.{interval}`` and ``user.trades.{kind}.{currency}.{interval}`` ->
  `TradeUpdate` per trade, quantity signed by ``direction`` (buy +, sell -) in Deribit's size units.
- ``user.portfolio.{currency}`` -> `BalanceUpdate`, the account's absolute balance in that currency.

user.* notifications need the account they belong to: a top-level ``"account"`` field of the message (next
to ``"jsonrpc"`` and ``"params"``) or an ``"account"`` inside ``params``.

Any other channel, a heartbeat, a JSON-RPC response, or a ``user.trades`` channel of combos, is ignored:
`parse_notification` returns ``[]`` and, when given an ``ignored`` counter, counts it there.  A malformed
message on a channel read here raises `MessageError` naming the channel and the field.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Mapping
from typing import Any, NamedTuple, Union

from ..instruments import Instrument
from ..io.deribit import excerpt
from ..market import MAX_DECIMAL_IV

#: Timestamps are whole milliseconds since 1970 below this bound (year 33658), as Market requires.
MAX_TIMESTAMP_MS = 10**15
_INF = math.inf
_EXACT = 2**53  # ints below this in size are floats exactly

#: Kinds of ``user.trades.{kind}.{currency}.{interval}`` channels whose trades are combos (ignored: their
#: legs are what positions hold).
COMBO_KINDS = ("future_combo", "option_combo")


class MessageError(ValueError):
    """A malformed notification on a channel riskoffset reads; ``channel`` and ``field`` say where, and ``line``
    (when a strict engine refuses a message of a stream) which message it was."""

    def __init__(self, message: str, channel: str | None = None, field: str | None = None, line: int | None = None):
        super().__init__(message)
        self.channel = channel
        self.field = field
        self.line = line


class IndexUpdate(NamedTuple):
    """A Deribit USD price index value: ``underlying`` is the coin ("BTC"), ``price`` in USD, ``timestamp``
    in ms since 1970."""

    underlying: str
    price: float
    timestamp: int


class TickerUpdate(NamedTuple):
    """An instrument's marks at ``timestamp`` (ms): ``mark_price`` as Deribit quotes it (USD for futures and
    perpetuals, coin for inverse options, USDC for linear ones), ``mark_iv`` as a decimal (options only),
    ``underlying_price`` (an option's forward) and ``index_price`` in USD.  None where the message has no
    value."""

    instrument: str
    timestamp: int
    mark_price: float | None
    mark_iv: float | None
    underlying_price: float | None
    index_price: float | None


class TradeUpdate(NamedTuple):
    """One of an account's fills: ``quantity`` signed (buy +, sell -) in Deribit's size units (USD face
    for inverse futures and perpetuals, coin for options and linear products), ``price`` as quoted, ``fee``
    in ``fee_currency`` (negative for a rebate), ``timestamp`` in ms."""

    account: str | int
    instrument: str
    quantity: float
    price: float
    fee: float
    fee_currency: str
    timestamp: int
    trade_id: str


class BalanceUpdate(NamedTuple):
    """An account's absolute ``balance`` in ``currency`` (upper case).  Deribit's portfolio object carries
    no time: ``timestamp`` (ms) is kept when the recorded object has one, else None."""

    account: str | int
    currency: str
    balance: float
    timestamp: int | None


Update = Union[IndexUpdate, TickerUpdate, TradeUpdate, BalanceUpdate]


# ----------------------------------------------------------------------------------------------- fields
def _is_mapping(value: Any) -> bool:
    """A JSON object: a dict (what a JSON parser gives, tested first: an abstract-class test costs more than the
    rest of a field's checks) or any other mapping."""
    return type(value) is dict or isinstance(value, Mapping)


class _Fields:
    """Typed reads of one data object, with errors naming the channel and the field's path."""

    def __init__(self, channel: str, data: Any, where: str = "data"):
        if not _is_mapping(data):
            raise MessageError(
                f"{channel}: {where} should be an object, got {type(data).__name__} {excerpt(data)}",
                channel,
                where,
            )
        self.channel, self.data, self.where = channel, data, where

    def error(self, key: str, text: str) -> MessageError:
        return MessageError(f"{self.channel}: field {self.where}.{key} {text}", self.channel, key)

    def number(self, key: str, *, optional: bool = False, rule: str = "finite") -> float | None:
        """A finite JSON number (never a bool or a string); ``rule``: finite, positive, nonnegative or
        nonzero.  A missing or null field is None when ``optional``."""
        value = self.data.get(key)
        if type(value) is float:  # (JSON's usual numbers first)
            x = value
        elif type(value) is int and -(2**1023) < value < 2**1023:  # (a float holds it; a bool is not of type int)
            x = float(value)
        else:
            if value is None:
                if optional:
                    return None
                raise self.error(key, "is missing")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.error(key, f"should be a number, got {type(value).__name__} {excerpt(value)}")
            try:
                x = float(value)
            except OverflowError:
                raise self.error(key, f"is out of range: {excerpt(value)}") from None
        if not math.isfinite(x):
            raise self.error(key, f"should be finite, got {value!r}")
        if rule == "positive" and not x > 0:
            raise self.error(key, f"should be > 0, got {value!r}")
        if rule == "nonnegative" and x < 0:
            raise self.error(key, f"should be >= 0, got {value!r}")
        if rule == "nonzero" and x == 0:
            raise self.error(key, "should not be 0")
        return x

    def required(self, key: str, rule: str = "finite") -> float:
        x = self.number(key, rule=rule)
        assert x is not None  # number() raised on a missing field
        return x

    def timestamp(self, key: str = "timestamp", *, optional: bool = False) -> int | None:
        value = self.data.get(key)
        if value is None and optional:
            return None
        x = self.number(key)
        if x is None or not (0 <= x < MAX_TIMESTAMP_MS and x == int(x)):
            raise self.error(
                key, f"should be whole milliseconds since 1970 (0 to 1e15), got {excerpt(value)}"
            )
        return int(x)

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if value is None:
            raise self.error(key, "is missing")
        if not isinstance(value, str) or not value:
            raise self.error(
                key, f"should be a non-empty string, got {type(value).__name__} {excerpt(value)}"
            )
        return value

    def iv(self, key: str, *, percent: bool) -> float | None:
        x = self.number(key, optional=True, rule="nonnegative")
        if x is None:
            return None
        iv = x / 100.0 if percent else x
        if iv > MAX_DECIMAL_IV:
            unit = "percent" if percent else "a decimal (0.65 = 65 %)"
            raise self.error(key, f"= {x!r} is not a plausible implied vol in {unit}")
        return iv


def _instrument(fields: _Fields, channel_name: str | None = None) -> str:
    name = fields.text("instrument_name")
    if channel_name is not None and name != channel_name:
        raise fields.error("instrument_name", f"= {name!r} contradicts the channel's {channel_name!r}")
    return name


def _data_list(channel: str, data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise MessageError(
            f"{channel}: data should be a list of objects, got {type(data).__name__} {excerpt(data)}",
            channel,
            "data",
        )
    return data


# ----------------------------------------------------------------------------------------------- channels
def _index(channel: str, parts: list[str], data: Any, ignored: Counter[str] | None) -> list[Update]:
    f = _Fields(channel, data)
    name = f.text("index_name")
    if len(parts) != 2 or name != parts[1]:
        raise f.error("index_name", f"= {name!r} contradicts the channel")
    price, ts = f.required("price", "positive"), f.timestamp()
    coin, _, quote = name.partition("_")
    if quote != "usd" or not coin.isalnum():  # btc_usdc, sol_usdc, ...: not an underlying's USD index
        if ignored is not None:
            ignored[channel] += 1
        return []
    assert ts is not None
    return [IndexUpdate(coin.upper(), price, ts)]


def _ticker(channel: str, parts: list[str], data: Any) -> list[Update]:
    f = _Fields(channel, data)
    if len(parts) != 3:
        raise MessageError(f"{channel}: a ticker channel is ticker.INSTRUMENT.INTERVAL", channel, "channel")
    ts = f.timestamp()
    assert ts is not None
    name = _instrument(f, parts[1])
    option = name.endswith(("-C", "-P"))
    return [
        TickerUpdate(
            instrument=name,
            timestamp=ts,
            mark_price=f.number("mark_price", optional=True, rule="nonnegative" if option else "positive"),
            mark_iv=f.iv("mark_iv", percent=True),
            underlying_price=f.number("underlying_price", optional=True, rule="positive"),
            index_price=f.number("index_price", optional=True, rule="positive"),
        )
    ]


def _plain_mark(entry: Any) -> TickerUpdate | None:
    """A markprice entry whose every field has its usual type and a valid value, as its update; None for
    anything else (`_markprice` then reads it field by field, as `_plain_trade`)."""
    if type(entry) is not dict:
        return None
    name, ts, mark, raw_iv = entry.get("instrument_name"), entry.get("timestamp"), entry.get("mark_price"), entry.get("iv")
    mark = _plain_number(mark)
    iv = None if raw_iv is None else _plain_number(raw_iv)
    if not (
        type(name) is str and name and type(ts) is int and 0 <= ts < MAX_TIMESTAMP_MS
        and mark is not None and mark >= 0.0 and (raw_iv is None or (iv is not None and 0.0 <= iv <= MAX_DECIMAL_IV))
    ):  # fmt: skip
        return None
    return TickerUpdate(name, ts, mark, iv, None, None)


def _markprice(channel: str, data: Any) -> list[Update]:
    out: list[Update] = []
    for i, entry in enumerate(_data_list(channel, data)):
        plain = _plain_mark(entry)
        if plain is not None:
            out.append(plain)
            continue
        f = _Fields(channel, entry, f"data[{i}]")
        ts = f.timestamp()
        assert ts is not None
        out.append(
            TickerUpdate(
                instrument=_instrument(f),
                timestamp=ts,
                mark_price=f.required("mark_price", "nonnegative"),
                mark_iv=f.iv("iv", percent=False),
                underlying_price=None,
                index_price=None,
            )
        )
    return out


@functools.lru_cache(maxsize=16_384)
def _instrument_kind(name: str) -> str:
    """The kind of a Deribit instrument name (ValueError for a name riskoffset does not read): a feed names the
    same instruments over and over, and parsing one costs more than a trade."""
    return Instrument.parse(name).kind


def _plain_number(value: Any) -> float | None:
    """A JSON number that is finite as a float (an int a float holds exactly), else None."""
    kind = type(value)
    if kind is float:
        return value if -_INF < value < _INF else None
    if kind is int and -_EXACT < value < _EXACT:  # (a bool is not of type int)
        return float(value)
    return None


def _plain_trade(entry: Any, account: str | int, channel_name: str | None, kind: str | None) -> TradeUpdate | None:
    """A trade object whose every field has its usual type and a valid value, as its update; None for anything
    else, which `_trades` reads field by field to name what is wrong (the same update where that path accepts
    it: a test holds the two paths to each other)."""
    if type(entry) is not dict:
        return None
    name, direction, trade_id = entry.get("instrument_name"), entry.get("direction"), entry.get("trade_id")
    fee_currency, ts = entry.get("fee_currency"), entry.get("timestamp")
    amount, price, fee = (
        _plain_number(entry.get("amount")), _plain_number(entry.get("price")), _plain_number(entry.get("fee"))
    )  # fmt: skip
    if not (
        type(name) is str and name and (channel_name is None or name == channel_name)
        and type(direction) is str and (direction == "buy" or direction == "sell")
        and amount is not None and amount > 0.0 and price is not None and price > 0.0 and fee is not None
        and type(fee_currency) is str and fee_currency
        and type(ts) is int and 0 <= ts < MAX_TIMESTAMP_MS
        and ((type(trade_id) is str and trade_id) or type(trade_id) is int)
    ):  # fmt: skip
        return None
    try:
        parsed_kind = _instrument_kind(name)  # (a name riskoffset reads, of the channel's kind)
    except ValueError:
        return None
    if kind in ("future", "option") and (parsed_kind == "option") != (kind == "option"):
        return None
    return TradeUpdate(account, name, amount if direction == "buy" else -amount, price, fee, fee_currency.upper(),
                       ts, str(trade_id))  # fmt: skip


def _trades(channel: str, parts: list[str], data: Any, account: str | int) -> list[Update]:
    # user.trades.INSTRUMENT.INTERVAL or user.trades.KIND.CURRENCY.INTERVAL
    by_instrument = len(parts) == 4
    kind = None if by_instrument else parts[2]
    out: list[Update] = []
    for i, entry in enumerate(_data_list(channel, data)):
        plain = _plain_trade(entry, account, parts[2] if by_instrument else None, kind)
        if plain is not None:
            out.append(plain)
            continue
        f = _Fields(channel, entry, f"data[{i}]")
        name = _instrument(f, parts[2] if by_instrument else None)
        try:
            parsed_kind = _instrument_kind(name)
        except ValueError as exc:
            raise f.error("instrument_name", f"is not an instrument riskoffset reads: {exc}") from None
        if kind in ("future", "option") and (parsed_kind == "option") != (kind == "option"):
            raise f.error("instrument_name", f"= {name!r} is not a {kind} (channel kind)")
        direction = f.text("direction")
        if direction not in ("buy", "sell"):
            raise f.error("direction", f"should be 'buy' or 'sell', got {direction!r}")
        amount = f.required("amount", "positive")  # unsigned: the side is the direction
        trade_id = entry.get("trade_id")
        if isinstance(trade_id, bool) or not isinstance(trade_id, (str, int)) or trade_id == "":
            raise f.error("trade_id", f"should be a string or an integer, got {excerpt(trade_id)}")
        ts = f.timestamp()
        assert ts is not None
        out.append(
            TradeUpdate(
                account=account,
                instrument=name,
                quantity=amount if direction == "buy" else -amount,
                price=f.required("price", "positive"),
                fee=f.required("fee"),
                fee_currency=f.text("fee_currency").upper(),
                timestamp=ts,
                trade_id=str(trade_id),
            )
        )
    return out


def _portfolio(channel: str, parts: list[str], data: Any, account: str | int) -> list[Update]:
    f = _Fields(channel, data)
    currency = f.text("currency").upper()
    if len(parts) != 3 or currency != parts[2].upper() and parts[2].lower() != "any":
        raise f.error("currency", f"= {currency!r} contradicts the channel")
    return [BalanceUpdate(account, currency, f.required("balance"), f.timestamp(optional=True))]


def _account(message: Mapping[str, Any], params: Mapping[str, Any], channel: str) -> str | int:
    top = message.get("account")
    if (type(top) is int or (type(top) is str and top)) and (params is message or params.get("account") is None):
        return top  # (the usual message: the account at the top level only)
    found = [m["account"] for m in (message, params) if m.get("account") is not None]
    if not found:
        raise MessageError(
            f"{channel}: a user.* notification needs its account: a top-level 'account' field (next to "
            "'params') or 'account' inside params",
            channel,
            "account",
        )
    for value in found:
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise MessageError(
                f"{channel}: field account should be a non-empty string or an integer, got {excerpt(value)}",
                channel,
                "account",
            )
    if len(found) == 2 and found[0] != found[1]:
        raise MessageError(
            f"{channel}: account {found[0]!r} at the top level contradicts account {found[1]!r} in params",
            channel,
            "account",
        )
    account: str | int = found[0]
    return account


# ----------------------------------------------------------------------------------------------- entry
def parse_notification(message: Mapping[str, Any], ignored: Counter[str] | None = None) -> list[Update]:
    """The updates in one notification: the JSON-RPC form ``{"jsonrpc": "2.0", "method": "subscription",
    "params": {"channel": ..., "data": ...}}`` or the bare ``{"channel": ..., "data": ...}``.

    Ignored messages (module doc) give ``[]`` and, with ``ignored``, add 1 to ``ignored[channel]`` (or to
    ``ignored["(method)"]`` for a message without a channel, e.g. ``"(heartbeat)"``, ``"(response)"``).
    Raises MessageError naming the channel and field for a malformed message on a channel read here, and
    for something that is not a notification at all."""
    if not _is_mapping(message):
        raise MessageError(
            f"a notification should be a JSON object, got {type(message).__name__} {excerpt(message)}"
        )
    if "channel" in message:
        params: Mapping[str, Any] = message
    else:
        method = message.get("method")
        if method is None and ("result" in message or "error" in message):
            method = "response"  # a reply to a request, recorded with the notifications
        if method != "subscription":
            if not isinstance(method, str):
                raise MessageError(
                    f"not a notification: no 'channel' and no JSON-RPC 'method' in {excerpt(dict(message))}"
                )
            if ignored is not None:
                ignored[f"({method})"] += 1
            return []
        raw = message.get("params")
        if not (type(raw) is dict or isinstance(raw, Mapping)):  # (as `_is_mapping`, which mypy cannot follow)
            raise MessageError(
                f"subscription notification without a params object: {excerpt(dict(message))}", None, "params"
            )
        params = raw
    channel = params.get("channel")
    if not isinstance(channel, str) or not channel:
        raise MessageError(f"notification without a channel name: {excerpt(dict(message))}", None, "channel")
    if "data" not in params:
        raise MessageError(f"{channel}: the notification has no data", channel, "data")
    data = params["data"]
    parts = channel.split(".")
    head = parts[0]
    if head == "deribit_price_index":
        return _index(channel, parts, data, ignored)
    if head == "ticker":
        return _ticker(channel, parts, data)
    if parts[:2] == ["markprice", "options"] and len(parts) == 3:
        return _markprice(channel, data)
    if head == "user" and len(parts) > 1 and parts[1] in ("trades", "portfolio"):
        combo = parts[1] == "trades" and len(parts) == 5 and parts[2] in COMBO_KINDS
        if not combo:
            if parts[1] == "trades" and len(parts) not in (4, 5):
                raise MessageError(
                    f"{channel}: a user trades channel is user.trades.INSTRUMENT.INTERVAL or "
                    "user.trades.KIND.CURRENCY.INTERVAL",
                    channel,
                    "channel",
                )
            account = _account(message, params, channel)
            if parts[1] == "trades":
                return _trades(channel, parts, data, account)
            return _portfolio(channel, parts, data, account)
    if ignored is not None:
        ignored[channel] += 1
    return []


__all__ = [
    "BalanceUpdate",
    "IndexUpdate",
    "MessageError",
    "TickerUpdate",
    "TradeUpdate",
    "Update",
    "parse_notification",
]
