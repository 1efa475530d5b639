"""Deribit API objects -> riskoffset objects: `public/get_instruments` instruments, `private/get_positions`
positions, and `public/ticker` / `public/get_book_summary_by_currency` market data.

Every function takes the parsed JSON: a list of objects, a single object, or the JSON-RPC envelope
``{"jsonrpc": "2.0", "result": ...}``, or a list of such envelopes (several responses saved together).
Field meanings (see docs/units.md, Deribit units):

- sizes: a position's ``size`` is in USD for futures and perpetuals (inverse) and in base coin for options
  (and for linear USDC futures); it is signed (negative when short) and ``direction`` repeats the side.
- prices: inverse option ``mark_price`` is in coin; futures ``mark_price`` in USD.
- ``mark_iv`` is in percent (60.86 means 0.6086); riskoffset stores decimals.
- timestamps are milliseconds since the epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from ..instruments import PERPETUAL_EXPIRY_MS, Instrument


def excerpt(value: Any, limit: int = 80) -> str:
    """A short repr of ``value`` for error messages (never the whole object)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_envelope(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "result" in obj


def unwrap(objects: Any) -> list[Mapping[str, Any]]:
    """The list of objects in a response: accepts a JSON-RPC envelope, a list of envelopes (their results
    concatenated), a list of objects or a single object."""
    if _is_envelope(objects):
        objects = objects["result"]
    if isinstance(objects, Mapping):
        return [objects]
    if isinstance(objects, (str, bytes)) or not isinstance(objects, Iterable):
        raise TypeError(
            "expected Deribit API objects (a dict, a list of dicts or a JSON-RPC envelope "
            f"{{'jsonrpc': '2.0', 'result': [...]}}), got {type(objects).__name__} {excerpt(objects)}"
        )
    out: list[Mapping[str, Any]] = []
    for i, o in enumerate(objects):
        if _is_envelope(o):
            result = o["result"]
            inner = [result] if isinstance(result, Mapping) else result
            if isinstance(inner, (str, bytes)) or not isinstance(inner, Iterable):
                raise TypeError(
                    f"JSON-RPC envelope {i}: 'result' should be a dict or a list of dicts, got "
                    f"{type(result).__name__} {excerpt(result)}"
                )
            for j, x in enumerate(inner):
                if not isinstance(x, Mapping):
                    raise TypeError(
                        f"JSON-RPC envelope {i}, result {j}: expected a dict, got {type(x).__name__} {excerpt(x)}"
                    )
                out.append(x)
        elif isinstance(o, Mapping):
            out.append(o)
        else:
            raise TypeError(
                f"Deribit object {i}: expected a dict or a JSON-RPC envelope, got {type(o).__name__} {excerpt(o)}"
            )
    return out


def _number(obj: Mapping[str, Any], key: str, default: float = math.nan) -> float:
    value = obj.get(key)
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{obj.get('instrument_name', '?')}: field {key!r} is not a number: {value!r}"
        ) from None


def instrument_from_deribit(obj: Mapping[str, Any]) -> Instrument:
    """An Instrument from a `public/get_instruments` object.  The name gives the structure; the object's
    fields win where both say something (expiration_timestamp, strike, settlement, contract size), and a
    contradiction between them is an error naming the instrument."""
    name = obj.get("instrument_name")
    if not isinstance(name, str):
        raise ValueError(f"get_instruments object without an instrument_name: {excerpt(dict(obj))}")  # noqa: TRY004 - bad input data, reported like every data error
    parsed = Instrument.parse(name)
    kind = obj.get("kind")
    if kind is not None:
        settlement_period = obj.get("settlement_period")
        actual = "perpetual" if kind == "future" and settlement_period == "perpetual" else kind
        if actual == "future" and parsed.kind == "perpetual":
            actual = "perpetual"
        if actual != parsed.kind:
            raise ValueError(f"{name}: kind {kind!r} in the object contradicts the name ({parsed.kind})")
    settlement = parsed.settlement
    instrument_type = obj.get("instrument_type", obj.get("future_type"))
    if instrument_type is not None:
        settlement = "inverse" if instrument_type == "reversed" else "linear"
    elif obj.get("settlement_currency") is not None and obj.get("base_currency") is not None:
        settlement = "inverse" if obj["settlement_currency"] == obj["base_currency"] else "linear"
    if settlement != parsed.settlement:
        raise ValueError(
            f"{name}: settlement {settlement!r} in the object contradicts the name ({parsed.settlement})"
        )
    expiry = parsed.expiry
    ms = obj.get("expiration_timestamp")
    if ms is not None and parsed.kind in ("future", "option") and int(ms) != PERPETUAL_EXPIRY_MS:
        expiry = datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc)
        if parsed.expiry is not None and expiry.date() != parsed.expiry.date():
            raise ValueError(
                f"{name}: expiration_timestamp {ms} ({expiry.isoformat()}) is not on the name's date "
                f"{parsed.expiry.date().isoformat()}"
            )
    strike = parsed.strike
    if parsed.kind == "option" and obj.get("strike") is not None:
        strike = _number(obj, "strike")
        if parsed.strike is not None and not math.isclose(strike, parsed.strike, rel_tol=1e-12):
            raise ValueError(f"{name}: strike {strike} in the object contradicts the name ({parsed.strike})")
    quote = parsed.quote
    if settlement == "linear" and obj.get("counter_currency"):
        quote = str(obj["counter_currency"])
    return Instrument(
        name=name,
        kind=parsed.kind,
        base=str(obj.get("base_currency") or parsed.base),
        quote=quote,
        settlement=settlement,
        expiry=expiry,
        strike=strike,
        option_type=parsed.option_type,
        contract_size=_number(obj, "contract_size", parsed.contract_size),
        tick_size=_number(obj, "tick_size"),
        min_trade_amount=_number(obj, "min_trade_amount"),
        maker_commission=_number(obj, "maker_commission"),
        taker_commission=_number(obj, "taker_commission"),
        extra={
            k: v
            for k, v in obj.items()
            if k in ("instrument_id", "price_index", "settlement_period", "is_active")
        },
    )


def positions_from_deribit(
    objects: Any, *, account: str | int = "deribit"
) -> tuple[list[str | int], list[str], list[float], list[float]]:
    """(accounts, instrument names, signed amounts, average prices: NaN where absent) from
    `private/get_positions` objects.

    ``size`` is taken as Deribit's amount (USD for inverse futures and perpetuals, coin for options): it is
    signed; ``direction`` must agree with its sign (sell -> negative) and a contradiction is an error naming
    the instrument.  Objects may carry their own ``account`` field (e.g. a subaccount id) that overrides
    the ``account`` argument.  Positions of direction "zero" are kept as 0 and vanish in netting."""
    accounts: list[str | int] = []
    names: list[str] = []
    sizes: list[float] = []
    averages: list[float] = []
    for obj in unwrap(objects):
        name = obj.get("instrument_name")
        if not isinstance(name, str):
            raise ValueError(f"get_positions object without an instrument_name: {excerpt(dict(obj))}")  # noqa: TRY004 - bad input data, reported like every data error
        size = _number(obj, "size")
        if not math.isfinite(size):
            raise ValueError(f"{name}: position size {obj.get('size')!r} is missing or not finite")
        direction = obj.get("direction")
        if direction == "sell" and size > 0 or direction == "buy" and size < 0:
            raise ValueError(
                f"{name}: size {size} contradicts direction {direction!r} (Deribit sizes are signed)"
            )
        if direction == "zero" and size != 0:
            raise ValueError(f"{name}: size {size} with direction 'zero'")
        kind = obj.get("kind")
        if kind is not None:
            parsed = Instrument.parse(name)
            if (kind == "option") != (parsed.kind == "option"):
                raise ValueError(
                    f"{name}: kind {kind!r} in the position contradicts the name ({parsed.kind})"
                )
        accounts.append(obj.get("account", account))
        names.append(name)
        sizes.append(size)
        average = _number(obj, "average_price") if obj.get("average_price") not in (None, "") else math.nan
        averages.append(average)
    return accounts, names, sizes, averages


def _percent_iv(obj: Mapping[str, Any]) -> float:
    iv = _number(obj, "mark_iv")
    return iv / 100.0 if math.isfinite(iv) else iv


def market_quotes_from_deribit(objects: Any) -> list[dict[str, Any]]:
    """Normalised quotes from `public/ticker` or `get_book_summary_by_currency` objects: one dict per
    instrument with instrument_name, mark_price, mark_iv (decimal), underlying_price, index_price and
    timestamp (ms; ticker ``timestamp`` or book summary ``creation_timestamp``)."""
    out: list[dict[str, Any]] = []
    for obj in unwrap(objects):
        name = obj.get("instrument_name")
        if not isinstance(name, str):
            raise ValueError(f"ticker/book summary object without an instrument_name: {excerpt(dict(obj))}")  # noqa: TRY004 - bad input data, reported like every data error
        ts = obj.get("timestamp", obj.get("creation_timestamp"))
        # At expiry Deribit's ticker says "expired" instead of an estimated delivery price: the instrument is
        # then valued at expiry (intrinsic for options), the index comes from index_price.
        delivery = obj.get("estimated_delivery_price")
        if delivery == "expired":
            obj = {k: v for k, v in obj.items() if k != "estimated_delivery_price"}
        out.append(
            {
                "instrument_name": name,
                "mark_price": _number(obj, "mark_price"),
                "mark_iv": _percent_iv(obj),
                "underlying_price": _number(obj, "underlying_price"),
                "underlying_index": obj.get("underlying_index"),
                "index_price": _number(obj, "index_price", _number(obj, "estimated_delivery_price")),
                "timestamp": None if ts is None else int(ts),
            }
        )
    return out


def market_fields_from_deribit(quotes: Any) -> dict[str, dict[str, Any]]:
    """The Market fields in ticker / book summary objects: index, marks, mark_iv (decimal), forwards (an
    option's underlying_price) and timestamps (ms), keyed as Market takes them.

    index comes from index_price under the name's base; an inverse instrument's index wins over a linear
    one's for the same base.  Raises ValueError when there is no object at all."""
    rows = market_quotes_from_deribit(quotes)
    if not rows:
        raise ValueError("no ticker or book summary objects given")
    fields: dict[str, dict[str, Any]] = {
        "index": {},
        "marks": {},
        "mark_iv": {},
        "forwards": {},
        "timestamps": {},
    }
    index, marks, mark_iv = fields["index"], fields["marks"], fields["mark_iv"]
    forwards, timestamps = fields["forwards"], fields["timestamps"]
    for row in rows:
        name = row["instrument_name"]
        inst = Instrument.parse(name)
        if math.isfinite(row["mark_price"]):
            marks[name] = row["mark_price"]
        if inst.kind == "option":
            if math.isfinite(row["mark_iv"]):
                mark_iv[name] = row["mark_iv"]
            if math.isfinite(row["underlying_price"]):
                forwards[name] = row["underlying_price"]
        if math.isfinite(row["index_price"]) and (inst.settlement == "inverse" or inst.base not in index):
            index[inst.base] = row["index_price"]
        if row["timestamp"] is not None:
            timestamps[name] = row["timestamp"]
    return fields
