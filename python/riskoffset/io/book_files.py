"""Position files: CSV and JSON readers (records for Book.from_positions / Book.from_deribit) and the CSV
writer, plus the bundled sample books."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from .json_files import read_json

POSITION_COLUMNS = ("account", "instrument", "quantity")


def _records(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines))


def read_positions_csv(path: str | Path) -> list[dict[str, str]]:
    """Position records from a CSV with a header: instrument (or instrument_name), quantity (or size, or
    contracts), and an optional account column.  Lines starting with '#' are comments."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"book file {str(p)!r} does not exist")
    records = _records(p.read_text())
    fields = set(records[0]) if records else set()
    if not fields & {"instrument", "instrument_name"} or not fields & {"quantity", "size", "contracts"}:
        raise ValueError(
            f"{p}: a positions CSV needs columns instrument (or instrument_name) and quantity (or size or "
            f"contracts), optionally account; found {sorted(fields)}"
        )
    return records


def positions_json(source: str | Path | Any) -> tuple[str, Any, str]:
    """What a positions JSON holds: ``(kind, data, name)`` with kind "deribit" (a `private/get_positions`
    response or objects carrying ``direction`` and ``kind``; data for Book.from_deribit) or "records" (a
    list of position records or ``{"positions": [...]}``; data for Book.from_positions).  ``source`` is a
    path or the parsed JSON; name is the file's stem ("" for parsed data)."""
    data = source
    name = ""
    if isinstance(source, (str, Path)):
        data = read_json(source, "book")
        name = Path(source).stem
    if isinstance(data, Mapping) and "result" in data:
        return "deribit", data, name
    if isinstance(data, Mapping) and "positions" in data:
        data = data["positions"]
    if not isinstance(data, list):
        raise ValueError(  # noqa: TRY004 - bad input data, reported like every data error
            "a positions JSON is a list of records, {'positions': [...]}, a get_positions response or a list "
            f"of them; got {type(data).__name__}"
        )
    if data and all(isinstance(d, Mapping) and "result" in d for d in data):
        return "deribit", data, name
    if data and all(isinstance(d, Mapping) and "direction" in d and "kind" in d for d in data):
        return "deribit", data, name
    return "records", data, name


def write_positions_csv(path: str | Path, positions: Iterable[Mapping[str, Any]]) -> None:
    """Write records (account, instrument, quantity, and average_price when a record has one) as the CSV
    read_positions_csv reads; numbers are written with repr so they read back exactly."""
    records = list(positions)
    averages = any("average_price" in p for p in records)
    columns = [*POSITION_COLUMNS, "average_price"] if averages else list(POSITION_COLUMNS)
    with Path(path).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for p in records:
            row = {**p, "quantity": repr(p["quantity"])}
            if averages:
                row["average_price"] = repr(p["average_price"]) if "average_price" in p else ""
            writer.writerow(row)


def sample_book_names() -> list[str]:
    """Names of the bundled SYNTHETIC sample books (described in the README's sample data)."""
    folder = resources.files("riskoffset").joinpath("data/books")
    return sorted(p.name[: -len(".csv")] for p in folder.iterdir() if p.name.endswith(".csv"))


def sample_book_records(name: str) -> list[dict[str, str]]:
    """Position records of a bundled sample book."""
    names = sample_book_names()
    if name not in names:
        raise ValueError(f"no sample book {name!r}; choose one of {', '.join(names)}")
    return _records(resources.files("riskoffset").joinpath(f"data/books/{name}.csv").read_text())
