"""Instruments as traded on Deribit: name parsing and formatting, `Instrument` objects and the columnar
`InstrumentTable` that the pricing kernels read without per-row Python.

Names (Deribit's naming, as docs/units.md gives it):

=========== =================================== ==========================================
kind        pattern                             examples
=========== =================================== ==========================================
future      ``BASE-DMMMYY``                     ``BTC-25MAR23``, ``BTC-5AUG23``
perpetual   ``BASE-PERPETUAL``                  ``BTC-PERPETUAL``, ``SOL_USDC-PERPETUAL``
option      ``BASE-DMMMYY-STRIKE-C|P``          ``BTC-27DEC24-60000-C``, ``BTC-5AUG23-580-P``
linear      ``BASE_USDC-...``, ``d`` = decimal  ``XRP_USDC-30JUN23-0d625-C`` (strike 0.625)
spot        ``BASE_QUOTE``                      ``BTC_USDC``
=========== =================================== ==========================================

The day has one or two digits without a leading zero, the month is the English three-letter
abbreviation and the year has two digits; every expiry is at 08:00 UTC.  A name without ``_QUOTE`` is
inverse (coin-settled, quoted in USD); ``BASE_USDC`` (or ``_USDT``) names are linear (settled in the quote
currency).

Size units follow Deribit (see docs/units.md): an inverse future's or perpetual's amount is its USD face
value; options, linear futures and spot are in base coin.  ``contract_size`` is the amount per contract
(10 USD for BTC-PERPETUAL, 1 BTC for a BTC option).

Why one module of ~480 lines: the name grammar, `Instrument` and `InstrumentTable` are one vocabulary
(codes, kinds, settlement) that every other module imports from here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from ._types import FloatArray, IntArray
from .flags import is_call
from .optional import require_pandas
from .times import epoch_ms

KINDS: tuple[str, ...] = ("future", "perpetual", "option", "spot")
KIND_FUTURE, KIND_PERPETUAL, KIND_OPTION, KIND_SPOT = range(4)
SETTLEMENTS: tuple[str, ...] = ("linear", "inverse")  # codes match riskoffset.pricing's settlement codes
LINEAR, INVERSE = 0, 1
#: Deribit's expiration_timestamp for perpetuals (and what this package uses for spot): 3000-01-01.
PERPETUAL_EXPIRY_MS = 32503708800000
EXPIRY_HOUR_UTC = 8
MONTHS: tuple[str, ...] = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
LINEAR_QUOTES = ("USDC", "USDT")

EXPECTED = (
    "BASE-DMMMYY (future, e.g. BTC-27DEC24), BASE-PERPETUAL (e.g. BTC-PERPETUAL), "
    "BASE-DMMMYY-STRIKE-C|P (option, e.g. BTC-5AUG23-580-P), BASE_USDC-DMMMYY-STRIKE-C|P with 'd' as the "
    "decimal point (e.g. XRP_USDC-30JUN23-0d625-C) or BASE_QUOTE (spot, e.g. BTC_USDC); day 1-31 without a "
    "leading zero, month JAN..DEC, two-digit year"
)

_CURRENCY = re.compile(r"^(?P<base>[A-Z0-9]+)(?:_(?P<quote>[A-Z]+))?$")
_DATE = re.compile(r"^(?P<day>[1-9]|[12][0-9]|3[01])(?P<month>[A-Z]{3})(?P<year>[0-9]{2})$")
_STRIKE = re.compile(r"^(?:0|[1-9][0-9]*)(?:d[0-9]+)?$")


def _malformed(name: object, why: str) -> ValueError:
    return ValueError(f"malformed instrument name {name!r}: {why}; expected {EXPECTED}")


def expiry_code(expiry: datetime) -> str:
    """Deribit's date code of an expiry: 5AUG23, 27DEC24."""
    return f"{expiry.day}{MONTHS[expiry.month - 1]}{expiry.year % 100:02d}"


def parse_expiry(code: str, *, name: str | None = None) -> datetime:
    """The 08:00 UTC expiry of a Deribit date code (``5AUG23``, ``27DEC24``)."""
    shown = code if name is None else name
    m = _DATE.match(code)
    if m is None:
        raise _malformed(shown, f"expiry {code!r} is not DMMMYY")
    month = m["month"]
    if month not in MONTHS:
        raise _malformed(shown, f"month {month!r} is not one of {', '.join(MONTHS)}")
    try:
        return datetime(
            2000 + int(m["year"]),
            MONTHS.index(month) + 1,
            int(m["day"]),
            EXPIRY_HOUR_UTC,
            tzinfo=timezone.utc,
        )
    except ValueError:
        raise _malformed(shown, f"{code!r} is not a calendar date") from None


def parse_strike(text: str, *, name: str | None = None) -> float:
    """A strike as written in a name: digits, with ``d`` as the decimal point (``0d625`` = 0.625)."""
    if not _STRIKE.match(text):
        raise _malformed(
            text if name is None else name, f"strike {text!r} is not digits with an optional 'd' decimal"
        )
    return float(text.replace("d", "."))


def format_strike(strike: float) -> str:
    """Inverse of parse_strike: 60000 -> '60000', 0.625 -> '0d625'."""
    if not (math.isfinite(strike) and strike > 0):
        raise ValueError(f"strike must be finite and > 0, got {strike!r}")
    if strike == int(strike):
        return str(int(strike))
    text = repr(float(strike))
    if "e" in text:
        text = f"{strike:.12f}".rstrip("0")
    return text.replace(".", "d")


def default_contract_size(kind: str, base: str, settlement: str) -> float:
    """Contract size when none is given (Deribit's values for BTC and ETH; get_instruments is
    authoritative): inverse futures and perpetuals 10 USD for BTC and 1 USD otherwise, everything
    else 1 base coin."""
    if settlement == "inverse" and kind in ("future", "perpetual"):
        return 10.0 if base == "BTC" else 1.0
    return 1.0


@dataclass(frozen=True, eq=False)
class Instrument:
    """One listed instrument.  Build it with `Instrument.parse(name)` or `Instrument.from_deribit(obj)`.

    ``underlying`` is the base coin (BTC for BTC-27DEC24-60000-C and BTC_USDC-PERPETUAL alike): Greeks of
    instruments on the same base add up; those of different bases never do.  ``expiry`` is None for
    perpetuals and spot.  Tick size and fees are NaN unless the instrument came from get_instruments.
    """

    name: str
    kind: str
    base: str
    quote: str
    settlement: str
    expiry: datetime | None = None
    strike: float | None = None
    option_type: str | None = None
    contract_size: float = 1.0
    tick_size: float = math.nan
    min_trade_amount: float = math.nan
    maker_commission: float = math.nan
    taker_commission: float = math.nan
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.option_type is not None:  # one spelling inside ("call" / "put") whatever came in
            object.__setattr__(
                self, "option_type", "call" if is_call(self.option_type, "option_type") else "put"
            )

    def _key(self) -> tuple[Any, ...]:
        # NaN marks a missing figure (no tick size, no fee): two missing figures are equal.  Python 3.13's
        # dataclass __eq__ compares fields with ==, under which NaN != NaN, so equality is written out here.
        figures = (
            self.strike,
            self.contract_size,
            self.tick_size,
            self.min_trade_amount,
            self.maker_commission,
            self.taker_commission,
        )
        return (
            self.name,
            self.kind,
            self.base,
            self.quote,
            self.settlement,
            self.expiry,
            self.option_type,
            *(None if isinstance(x, float) and math.isnan(x) else x for x in figures),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instrument):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def underlying(self) -> str:
        return self.base

    @property
    def settlement_currency(self) -> str:
        return self.base if self.settlement == "inverse" else self.quote

    @property
    def size_unit(self) -> str:
        """Unit of a position's amount (Deribit `size`): USD face for inverse futures and perpetuals,
        base coin otherwise."""
        if self.settlement == "inverse" and self.kind in ("future", "perpetual"):
            return "USD"
        return self.base

    @property
    def expiration_ms(self) -> int:
        return PERPETUAL_EXPIRY_MS if self.expiry is None else epoch_ms(self.expiry)

    @property
    def is_option(self) -> bool:
        return self.kind == "option"

    @classmethod
    def parse(cls, name: str, *, contract_size: float | None = None) -> Instrument:
        """Parse a Deribit instrument name (see the module docstring).  ValueError shows the name and the
        expected patterns when it is malformed."""
        if not isinstance(name, str):
            raise _malformed(name, f"a name is a str, got {type(name).__name__}")
        if not name.isprintable() or any(c.isspace() for c in name):
            raise _malformed(name, "a name has no spaces, line breaks or control characters")
        parts = name.split("-")
        cur = _CURRENCY.match(parts[0])
        if cur is None:
            raise _malformed(name, f"currency {parts[0]!r} is not BASE or BASE_QUOTE in capitals")
        base, quote_given = cur["base"], cur["quote"]
        settlement = "linear" if quote_given else "inverse"
        quote = quote_given or "USD"
        if quote_given and quote_given not in LINEAR_QUOTES and len(parts) > 1:
            raise _malformed(name, f"quote {quote_given!r} is not one of {', '.join(LINEAR_QUOTES)}")
        expiry: datetime | None = None
        strike: float | None = None
        option_type: str | None = None
        if len(parts) == 1:
            if not quote_given:
                raise _malformed(name, "a bare currency is not an instrument (spot names are BASE_QUOTE)")
            kind = "spot"
        elif len(parts) == 2 and parts[1] == "PERPETUAL":
            kind = "perpetual"
        elif len(parts) == 2:
            kind, expiry = "future", parse_expiry(parts[1], name=name)
        elif len(parts) == 4:
            kind = "option"
            expiry = parse_expiry(parts[1], name=name)
            strike = parse_strike(parts[2], name=name)
            if strike <= 0:
                raise _malformed(name, "strike must be > 0")
            if parts[3] not in ("C", "P"):
                raise _malformed(name, f"option type {parts[3]!r} is not C or P")
            option_type = "call" if parts[3] == "C" else "put"
        else:
            raise _malformed(name, f"{len(parts)} dash-separated parts")
        size = (
            default_contract_size(kind, base, settlement) if contract_size is None else float(contract_size)
        )
        return cls(name, kind, base, quote, settlement, expiry, strike, option_type, size)

    @classmethod
    def from_deribit(cls, obj: Mapping[str, Any]) -> Instrument:
        """From a `public/get_instruments` object (see docs/units.md).  The fields win over the name:
        expiration_timestamp is the authoritative expiry, instrument_type (or the deprecated future_type)
        "reversed" means inverse, and contract size, tick size, minimum amount and fees are carried."""
        from .io.deribit import instrument_from_deribit

        return instrument_from_deribit(obj)

    def format(self) -> str:
        """The canonical Deribit name of this instrument (parse(format()) round-trips)."""
        return format_name(
            self.base,
            self.kind,
            quote=self.quote if self.settlement == "linear" else None,
            expiry=self.expiry,
            strike=self.strike,
            option_type=self.option_type,
        )


def format_name(
    base: str,
    kind: str,
    *,
    quote: str | None = None,
    expiry: datetime | None = None,
    strike: float | None = None,
    option_type: str | None = None,
) -> str:
    """Deribit name from its parts: format_name("BTC", "option", expiry=..., strike=60000,
    option_type="call") -> "BTC-27DEC24-60000-C"; quote="USDC" makes the linear form."""
    currency = base if quote is None else f"{base}_{quote}"
    if kind == "spot":
        if quote is None:
            raise ValueError("a spot name needs a quote currency (BTC_USDC)")
        return currency
    if kind == "perpetual":
        return f"{currency}-PERPETUAL"
    if expiry is None:
        raise ValueError(f"a {kind} name needs an expiry")
    if kind == "future":
        return f"{currency}-{expiry_code(expiry)}"
    if kind != "option":
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if strike is None:
        raise ValueError("an option name needs a strike and option_type 'call' or 'put'")
    letter = "C" if is_call(option_type, "option_type") else "P"
    return f"{currency}-{expiry_code(expiry)}-{format_strike(strike)}-{letter}"


def _readonly(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class PricedRows:
    """A table's rows by how a market prices them (`InstrumentTable.priced_rows`)."""

    futures: list[tuple[int, str]]  # (row, name) of the futures and perpetuals: priced on their own mark
    spot: IntArray  # spot rows: priced on the index
    dated: npt.NDArray[np.bool_]  # options and futures: they have an expiry


@dataclass(frozen=True)
class OptionExpiries:
    """A table's options grouped by (underlying, expiry) (`InstrumentTable.option_expiries`)."""

    rows: IntArray  # the options' rows, ascending
    names: list[str]  # their names
    groups: list[tuple[int, int, IntArray]]  # (underlying code, expiration_ms, positions in `rows`), ascending
    group_of: IntArray  # per option (position in `rows`): its group
    sizes: list[int]  # per group: its number of options
    firsts: list[int]  # per group: its first option (position in `rows`)


class InstrumentTable:
    """Columns of instruments, one row each (structure of arrays).

    Every column is a read-only C-contiguous numpy array that a kernel can take as it is:

    - ``names`` (str), ``kind`` (int8 index into KINDS), ``settlement`` (int8: 0 linear, 1 inverse)
    - ``flag`` (+1.0 call, -1.0 put, 0.0 not an option), ``strike`` (NaN if not an option)
    - ``expiration_ms`` (int64, ms since the epoch; PERPETUAL_EXPIRY_MS for perpetuals and spot)
    - ``contract_size``, ``tick_size``, ``min_trade_amount``, ``maker_commission``, ``taker_commission``
    - ``underlying`` (int32 index into ``underlyings``, the base coins)
    """

    def __init__(self, instruments: Iterable[Instrument]):
        items = list(instruments)
        seen: dict[str, int] = {}
        for i, inst in enumerate(items):
            if inst.name in seen:
                if items[seen[inst.name]] != inst:
                    raise ValueError(f"instrument {inst.name!r} is listed twice with different attributes")
            else:
                seen[inst.name] = i
        self._items: list[Instrument] = [items[i] for i in seen.values()]
        self._row: dict[str, int] = {inst.name: i for i, inst in enumerate(self._items)}
        its = self._items
        self.underlyings: tuple[str, ...] = tuple(sorted({i.base for i in its}))
        code = {u: k for k, u in enumerate(self.underlyings)}
        self.names: npt.NDArray[np.str_] = _readonly(np.array([i.name for i in its], dtype=str))
        self.kind: npt.NDArray[np.int8] = _readonly(
            np.array([KINDS.index(i.kind) for i in its], dtype=np.int8)
        )
        self.settlement: npt.NDArray[np.int8] = _readonly(
            np.array([SETTLEMENTS.index(i.settlement) for i in its], dtype=np.int8)
        )
        self.flag: FloatArray = _readonly(
            np.array(
                [0.0 if i.option_type is None else (1.0 if i.option_type == "call" else -1.0) for i in its],
                dtype=np.float64,
            )
        )
        self.strike: FloatArray = _readonly(
            np.array([math.nan if i.strike is None else i.strike for i in its], dtype=np.float64)
        )
        self.expiration_ms: IntArray = _readonly(np.array([i.expiration_ms for i in its], dtype=np.int64))
        self.contract_size: FloatArray = _readonly(np.array([i.contract_size for i in its], dtype=np.float64))
        self.tick_size: FloatArray = _readonly(np.array([i.tick_size for i in its], dtype=np.float64))
        self.min_trade_amount: FloatArray = _readonly(
            np.array([i.min_trade_amount for i in its], dtype=np.float64)
        )
        self.maker_commission: FloatArray = _readonly(
            np.array([i.maker_commission for i in its], dtype=np.float64)
        )
        self.taker_commission: FloatArray = _readonly(
            np.array([i.taker_commission for i in its], dtype=np.float64)
        )
        self.underlying: npt.NDArray[np.int32] = _readonly(
            np.array([code[i.base] for i in its], dtype=np.int32)
        )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_names(cls, names: Iterable[str]) -> InstrumentTable:
        """Parse names (duplicates collapse to one row; first appearance order)."""
        return cls(Instrument.parse(n) for n in dict.fromkeys(str(n) for n in names))

    @classmethod
    def from_deribit(cls, objects: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> InstrumentTable:
        """From a `public/get_instruments` response: the list of objects or the JSON-RPC envelope."""
        from .io.deribit import unwrap

        return cls(Instrument.from_deribit(o) for o in unwrap(objects))

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._items)

    def __getitem__(self, key: int | str) -> Instrument:
        if isinstance(key, str):
            return self._items[self.row(key)]
        return self._items[key]

    def __contains__(self, name: object) -> bool:
        return name in self._row

    def __repr__(self) -> str:
        kinds = {k: int(np.count_nonzero(self.kind == c)) for c, k in enumerate(KINDS)}
        shown = ", ".join(f"{n} {k}s" for k, n in kinds.items() if n)
        return f"InstrumentTable({len(self)} instruments: {shown}; underlyings {', '.join(self.underlyings)})"

    @property
    def row_of(self) -> Mapping[str, int]:
        """Each instrument name's row (the table's own index: read it, never change it)."""
        return self._row

    def row(self, name: str) -> int:
        try:
            return self._row[name]
        except KeyError:
            raise KeyError(f"instrument {name!r} is not in this instrument table") from None

    def rows(self, names: Sequence[str] | npt.NDArray[Any]) -> IntArray:
        """Row index of every name (vectorised over distinct names).  ValueError lists unknown names."""
        arr = np.asarray(names)
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        unique, inverse = np.unique(arr.astype(str), return_inverse=True)
        get = self._row.get
        codes = np.fromiter((get(str(u), -1) for u in unique), dtype=np.int64, count=len(unique))
        if (codes < 0).any():
            missing = [str(u) for u in unique[codes < 0]]
            shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            raise ValueError(f"instrument(s) not in the instrument table: {shown}")
        return codes[inverse.reshape(-1)]

    def take(self, rows: npt.ArrayLike) -> InstrumentTable:
        """The sub-table of the given rows, in that order (columns sliced, no re-parsing).  Underlying codes
        keep this table's ``underlyings``."""
        idx = np.asarray(rows, dtype=np.int64).reshape(-1)
        sub = object.__new__(InstrumentTable)
        sub._items = [self._items[i] for i in idx.tolist()]
        sub._row = {inst.name: i for i, inst in enumerate(sub._items)}
        if len(sub._row) != len(sub._items):
            raise ValueError("take() rows must be distinct")
        sub.underlyings = self.underlyings
        for column in (
            "names",
            "kind",
            "settlement",
            "flag",
            "strike",
            "expiration_ms",
            "contract_size",
            "tick_size",
            "min_trade_amount",
            "maker_commission",
            "taker_commission",
            "underlying",
        ):
            setattr(sub, column, _readonly(getattr(self, column)[idx]))
        return sub

    def extended(self, names: Iterable[str]) -> InstrumentTable:
        """This table plus parsed rows for names it lacks (existing rows keep their attributes)."""
        new = [n for n in dict.fromkeys(str(n) for n in names) if n not in self._row]
        if not new:
            return self
        return InstrumentTable([*self._items, *(Instrument.parse(n) for n in new)])

    def option_expiries(self) -> OptionExpiries:
        """The options' rows grouped by (underlying, expiry), computed once per table (a table does not change
        after construction): what resolving a market reads for every option, on every index move."""
        cached: OptionExpiries | None = self.__dict__.get("_option_expiries")
        if cached is None:
            rows = np.flatnonzero(self.kind == KIND_OPTION)
            key = self.underlying[rows].astype(np.int64) * (PERPETUAL_EXPIRY_MS + 1) + self.expiration_ms[rows]
            unique_keys, inverse = np.unique(key, return_inverse=True)
            inverse = inverse.reshape(-1)
            order = np.argsort(inverse, kind="stable")
            members = np.split(order, np.cumsum(np.bincount(inverse, minlength=len(unique_keys)))[:-1])
            cached = self.__dict__["_option_expiries"] = OptionExpiries(
                rows=_readonly(rows),
                names=self.names[rows].tolist(),
                groups=[
                    (int(k // (PERPETUAL_EXPIRY_MS + 1)), int(k % (PERPETUAL_EXPIRY_MS + 1)), _readonly(m))
                    for k, m in zip(unique_keys.tolist(), members)
                ],
                group_of=_readonly(inverse),
                sizes=[len(m) for m in members[: len(unique_keys)]],
                firsts=[int(m[0]) for m in members[: len(unique_keys)]],
            )
        return cached

    def priced_rows(self) -> PricedRows:
        """The rows by how a market prices them, computed once per table (resolving a market reads them on
        every index move)."""
        cached: PricedRows | None = self.__dict__.get("_priced_rows")
        if cached is None:
            kind = self.kind
            futures = np.flatnonzero((kind == KIND_FUTURE) | (kind == KIND_PERPETUAL)).tolist()
            cached = self.__dict__["_priced_rows"] = PricedRows(
                futures=[(row, str(self.names[row])) for row in futures],
                spot=_readonly(np.flatnonzero(kind == KIND_SPOT)),
                dated=_readonly((kind == KIND_OPTION) | (kind == KIND_FUTURE)),
            )
        return cached

    def options_by_underlying(self) -> list[tuple[int, IntArray]]:
        """The options' rows per underlying code, ascending, computed once per table: what the live engine's
        revaluation of a coin's instruments groups on every index move."""
        cached: list[tuple[int, IntArray]] | None = self.__dict__.get("_options_by_underlying")
        if cached is None:
            rows = np.flatnonzero(self.kind == KIND_OPTION)
            codes = self.underlying[rows]
            cached = self.__dict__["_options_by_underlying"] = [
                (code, _readonly(rows[codes == code])) for code in np.unique(codes).tolist()
            ]
        return cached

    def settlement_pairs(self) -> tuple[IntArray, tuple[tuple[str, str], ...]]:
        """Each row's (base coin, settlement currency) pair as a code into the pairs, numbered in the order they
        first appear, computed once per table: Deribit PM keys its risk vectors by it on every margin call."""
        cached: tuple[IntArray, tuple[tuple[str, str], ...]] | None = self.__dict__.get("_settlement_pairs")
        if cached is None:
            pairs: dict[tuple[str, str], int] = {}
            code = [pairs.setdefault((inst.base, inst.settlement_currency), len(pairs)) for inst in self._items]
            cached = self.__dict__["_settlement_pairs"] = (_readonly(np.array(code, dtype=np.int64)), tuple(pairs))
        return cached

    def is_option(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.kind == KIND_OPTION, dtype=bool)

    def expiry_dates(self) -> npt.NDArray[np.str_]:
        """ISO date of each expiry ('perpetual' for perpetuals and spot)."""
        dates = self.expiration_ms.astype("datetime64[ms]").astype("datetime64[D]").astype("<U10")
        return np.where(self.expiration_ms == PERPETUAL_EXPIRY_MS, "perpetual", dates)

    def to_dict(self) -> dict[str, list[Any]]:
        """Plain columns (kind and settlement as names)."""
        return {
            "instrument_name": self.names.tolist(),
            "kind": [KINDS[k] for k in self.kind.tolist()],
            "settlement": [SETTLEMENTS[s] for s in self.settlement.tolist()],
            "underlying": [self.underlyings[u] for u in self.underlying.tolist()],
            "expiration_timestamp": self.expiration_ms.tolist(),
            "strike": self.strike.tolist(),
            "flag": self.flag.tolist(),
            "contract_size": self.contract_size.tolist(),
            "tick_size": self.tick_size.tolist(),
            "min_trade_amount": self.min_trade_amount.tolist(),
            "maker_commission": self.maker_commission.tolist(),
            "taker_commission": self.taker_commission.tolist(),
        }

    def to_pandas(self) -> Any:
        """A pandas DataFrame of the columns (pandas is optional and imported only here)."""
        pd = require_pandas()

        return pd.DataFrame(self.to_dict())
