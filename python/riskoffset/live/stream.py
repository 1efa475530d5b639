"""Recorded notification streams, read line by line with their line numbers.

Two formats, told apart by the first line that is not blank or a ``#`` comment:

- JSON lines: one notification per line (`riskoffset.live.parse_notification` reads them).  Blank lines and
  lines starting with ``#`` are skipped.
- Tardis.dev CSV exports of Deribit (``options_chain`` or ``derivative_ticker``, with their header line):
  each row becomes the Deribit ``ticker.{symbol}.raw`` notification it records, so a recorded CSV feeds the
  same path as a live feed.  Tardis timestamps are microseconds, Deribit's milliseconds; Tardis keeps
  Deribit's ``mark_iv`` in percent, so it is passed on unchanged (the ticker reader makes it a decimal).

A bad line (not JSON, not an object, not valid UTF-8, a CSV row with a bad number) becomes a `StreamItem`
with ``error`` set: the reader never raises on a line, only on a file it cannot open or read.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any, Union

Source = Union[str, Path, IO[str]]

TARDIS_COMMON = ("exchange", "symbol", "timestamp", "local_timestamp")
#: options_chain columns read (the others are kept out of the ticker), with the ticker field they fill.
OPTIONS_CHAIN = {
    "mark_price": "mark_price",
    "mark_iv": "mark_iv",
    "underlying_price": "underlying_price",
    "bid_price": "best_bid_price",
    "bid_amount": "best_bid_amount",
    "bid_iv": "bid_iv",
    "ask_price": "best_ask_price",
    "ask_amount": "best_ask_amount",
    "ask_iv": "ask_iv",
    "last_price": "last_price",
    "open_interest": "open_interest",
}
OPTIONS_GREEKS = ("delta", "gamma", "vega", "theta", "rho")
#: derivative_ticker columns read, with the ticker field they fill (funding columns are not carried).
DERIVATIVE_TICKER = {
    "mark_price": "mark_price",
    "index_price": "index_price",
    "last_price": "last_price",
    "open_interest": "open_interest",
}


@dataclass(frozen=True)
class StreamItem:
    """One notification of a recorded stream: its 1-based physical ``line``, and either the ``message``
    (a dict) or the ``error`` that line has (without its number: ``line`` carries it)."""

    line: int
    message: dict[str, Any] | None
    error: str | None


def sample_stream_path() -> Path:
    """The bundled SYNTHETIC day of notifications (docs/live-streams.md describes it; not market data)."""
    return Path(str(resources.files("riskoffset").joinpath("data/streams/sample.jsonl")))


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _json_item(line: int, text: str) -> StreamItem:
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        return StreamItem(line, None, f"not valid JSON ({exc})")
    if not isinstance(value, dict):
        return StreamItem(line, None, f"expected a JSON object, got {type(value).__name__}")
    return StreamItem(line, value, None)


# ----------------------------------------------------------------------------------------------- Tardis CSV
def _tardis_kind(header: list[str]) -> str | None:
    """The export kind, "options_chain" or "derivative_ticker", or None for a header that is not a Tardis export."""
    if "exchange" not in header or "symbol" not in header:
        return None
    kind = "options_chain" if "strike_price" in header or "mark_iv" in header else "derivative_ticker"
    needed = (*TARDIS_COMMON, *(OPTIONS_CHAIN if kind == "options_chain" else DERIVATIVE_TICKER))
    missing = [c for c in needed if c not in header]
    if missing:
        raise ValueError(
            f"Tardis {kind} CSV without the columns {', '.join(missing)} (header: {','.join(header)})"
        )
    return kind


def _cell(row: dict[str, str], column: str) -> float | None:
    text = row.get(column, "").strip()
    if text == "":
        return None
    try:
        x = float(text)
    except ValueError:
        raise ValueError(f"column {column} = {text!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"column {column} = {text!r} is not finite")
    return x


def _microseconds(row: dict[str, str], column: str) -> int:
    text = row.get(column, "").strip()
    if not text.isdigit() or int(text) >= 10**18:
        raise ValueError(f"column {column} = {text!r} is not whole microseconds since 1970")
    return int(text)


def tardis_ticker(kind: str, row: dict[str, str]) -> dict[str, Any]:
    """The Deribit ``ticker.{symbol}.raw`` notification a Tardis ``options_chain`` or ``derivative_ticker``
    row records (empty cells are left out; ValueError names a bad column)."""
    if row.get("exchange", "").strip() != "deribit":
        raise ValueError(f"column exchange = {row.get('exchange')!r}: only Deribit exports are read")
    symbol = row.get("symbol", "").strip()
    if not symbol or "." in symbol:
        raise ValueError(f"column symbol = {symbol!r} is not an instrument name")
    data: dict[str, Any] = {"instrument_name": symbol, "timestamp": _microseconds(row, "timestamp") // 1000}
    columns = OPTIONS_CHAIN if kind == "options_chain" else DERIVATIVE_TICKER
    for column, field in columns.items():
        value = _cell(row, column)
        if value is not None:
            data[field] = value
    if kind == "options_chain":
        if row.get("underlying_index", "").strip():
            data["underlying_index"] = row["underlying_index"].strip()
        greeks = {g: v for g in OPTIONS_GREEKS if g in row for v in [_cell(row, g)] if v is not None}
        if greeks:
            data["greeks"] = greeks
    return {
        "jsonrpc": "2.0",
        "method": "subscription",
        "params": {"channel": f"ticker.{symbol}.raw", "data": data},
    }


# ----------------------------------------------------------------------------------------------- reader
def read_stream(source: Source) -> Iterator[StreamItem]:
    """The notifications of a recorded stream (module doc): a path (``.gz`` is read with gzip) or an open
    text file.  Skips blank and ``#`` lines; yields one StreamItem per other line (per CSV row after the
    header).  Raises FileNotFoundError at once for a missing file; while iterating, OSError when the file
    cannot be read (e.g. a ``.gz`` that is not gzip) and ValueError for a CSV header that names a Tardis
    export without the columns needed."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"stream file {str(path)!r} does not exist or is not a file")
        return _file_items(path)
    if not hasattr(source, "read"):
        raise TypeError(f"read_stream takes a path or an open text file, got {type(source).__name__}")
    return _items(source, str(getattr(source, "name", "stream")))


def _file_items(path: Path) -> Iterator[StreamItem]:
    # bytes lines, decoded one by one: a line that is not UTF-8 is reported, not raised
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
        yield from _items(f, str(path))


def _items(stream: Iterable[str | bytes], origin: str) -> Iterator[StreamItem]:
    kind: str | None = None  # "json", "options_chain" or "derivative_ticker", set by the first content line
    header: list[str] = []
    try:
        for number, raw in enumerate(stream, start=1):
            if isinstance(raw, bytes):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield StreamItem(number, None, f"not UTF-8 text ({exc})")
                    continue
            else:
                text = raw
            text = text.strip()
            if number == 1:
                text = text.lstrip("\ufeff")  # a byte order mark some editors write
            if not text or text.startswith("#"):
                continue
            if kind is None:
                if not text.startswith(("{", "[")):
                    try:
                        cells = [h.strip() for h in next(csv.reader([text]))]
                        kind = _tardis_kind(cells)
                    except (ValueError, csv.Error) as exc:
                        raise ValueError(f"{origin}, line {number}: {exc}") from None
                    if kind is not None:
                        header = cells
                        continue
                kind = "json"
            if kind == "json":
                yield _json_item(number, text)
            else:
                yield _csv_item(number, text, kind, header)
    except OSError as exc:
        raise OSError(f"{origin}: cannot read the stream: {exc}") from exc


def _csv_item(number: int, text: str, kind: str, header: list[str]) -> StreamItem:
    try:
        cells = next(csv.reader([text]))
        if len(cells) != len(header):
            raise ValueError(f"{len(cells)} cells for {len(header)} columns")
        return StreamItem(number, tardis_ticker(kind, dict(zip(header, cells))), None)
    except (ValueError, csv.Error) as exc:
        return StreamItem(number, None, str(exc))


__all__ = ["StreamItem", "read_stream", "sample_stream_path", "tardis_ticker"]
