"""Market files: the CSV snapshot format (``# key=value`` header lines, one row per instrument) and the
JSON document, read into the arguments of Market.from_rows / Market."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import MarketDataError
from ..instruments import Instrument, InstrumentTable
from .json_files import read_json

#: Optional keys of the market JSON document besides valuation_time and index.
JSON_KEYS = (
    "marks",
    "mark_iv",
    "forwards",
    "timestamps",
    "rate",
    "max_age",
    "max_forward_gap",
    "description",
)


def instrument_from_row(row: Mapping[str, str]) -> Instrument:
    """An Instrument from a market CSV row: the name's structure, with the row's contract_size (when
    given), tick size, minimum trade amount and fees."""
    name = row["instrument_name"]
    parsed = Instrument.parse(name)

    def num(key: str) -> float:
        value = row.get(key)
        if value is None or value == "":
            return math.nan
        try:
            return float(value)
        except ValueError:
            raise MarketDataError(f"{name}: {key} {value!r} is not a number", name) from None

    size = num("contract_size")
    return Instrument(
        name=parsed.name,
        kind=parsed.kind,
        base=parsed.base,
        quote=parsed.quote,
        settlement=parsed.settlement,
        expiry=parsed.expiry,
        strike=parsed.strike,
        option_type=parsed.option_type,
        contract_size=parsed.contract_size if math.isnan(size) else size,
        tick_size=num("tick_size"),
        min_trade_amount=num("min_trade_amount"),
        maker_commission=num("maker_commission"),
        taker_commission=num("taker_commission"),
    )


def market_csv(text: str, origin: str) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """(rows, options) of a market CSV: the rows for Market.from_rows and the options its header gives
    (valuation_time, index, description, and instruments when the CSV has instrument columns)."""
    meta: dict[str, str] = {}
    lines = text.splitlines()
    for line in lines:
        if line.startswith("# description="):
            meta["description"] = line[len("# description=") :].strip()
        elif line.startswith("#"):
            for token in line.lstrip("# ").split():
                if "=" in token:
                    key, value = token.split("=", 1)
                    meta[key] = value
    index: dict[str, float] = {}
    for key, value in meta.items():
        if key.startswith("index."):
            try:
                index[key.split(".", 1)[1]] = float(value)
            except ValueError:
                raise MarketDataError(f"{origin}: {key}={value!r} is not a number") from None
    rows = list(csv.DictReader(line for line in lines if line and not line.startswith("#")))
    if rows and "instrument_name" not in rows[0]:
        raise MarketDataError(f"{origin}: the CSV has no instrument_name column")
    instruments = None
    if rows and "contract_size" in rows[0]:
        instruments = InstrumentTable(instrument_from_row(r) for r in rows if r.get("kind") != "index")
    options: dict[str, Any] = {
        "index": index,
        "instruments": instruments,
        "description": meta.get("description", ""),
    }
    if "valuation_time" in meta:
        options["valuation_time"] = meta["valuation_time"]
    return rows, options


def market_json(source: str | Path | Mapping[str, Any] | list[Any]) -> tuple[str, Any]:
    """What a market JSON holds: ``("deribit", data)`` for a ticker / book summary response (a list, a
    JSON-RPC envelope or a list of envelopes), or ``("market", kwargs)`` with the Market arguments of a
    document with valuation_time, index and any of JSON_KEYS."""
    data: Any = source
    if isinstance(source, (str, Path)):
        data = read_json(source, "market")
    if isinstance(data, list) or (isinstance(data, Mapping) and "result" in data):
        return "deribit", data
    if not isinstance(data, Mapping) or "valuation_time" not in data or "index" not in data:
        found = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise MarketDataError(
            "a market JSON needs 'valuation_time' and 'index' (or is a Deribit ticker/book summary "
            f"response); found {found}"
        )
    kwargs: dict[str, Any] = {k: data[k] for k in JSON_KEYS if k in data}
    kwargs["valuation_time"] = data["valuation_time"]
    kwargs["index"] = data["index"]
    return "market", kwargs


def sample_market_text() -> str:
    """The bundled SYNTHETIC market snapshot, as CSV text."""
    return resources.files("riskoffset").joinpath("data/sample_market.csv").read_text()
