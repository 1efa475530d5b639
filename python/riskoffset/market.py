"""A market snapshot: index per underlying, futures and perpetual marks, forwards, option mark IVs and the
valuation time; resolved per instrument into the columns the pricing kernels read.

Conventions (see docs/units.md):

- time to expiry ``t = (expiration - valuation) / (365 * 86400 s)``, ACT/365 by the second, expiries at
  08:00 UTC; an option or future with ``t <= 0`` is expired: priced at intrinsic (t = 0) and flagged.
- ``mark_iv`` is a decimal (0.6289 = 62.89 %); Deribit objects quote percent and are converted on the way in.
- options are priced with Black-76 on the forward of their expiry, ``r`` = ``Market.rate`` (0 by default,
  as Deribit does).

Forward of an option expiry, first found wins:

1. the option's own ticker ``underlying_price`` (``forwards[option name]``): what Deribit used for its
   displayed IV and Greeks;
2. ``forwards["BASE-DMMMYY"]``: a forward given for the expiry (e.g. a synthetic forward);
3. the mark of the future of the same expiry, ``marks["BASE-DMMMYY"]``;
4. interpolation on the curve of that base's futures marks and expiry forwards, anchored at ``(t = 0,
   index)``: ``ln(F / index)`` is linear in ``t`` between neighbouring points (a constant annualised basis
   between listed expiries) and, beyond the last point, the last point's annualised basis
   ``ln(F_last / index) / t_last`` continues.  With no future and no forward for the base there is nothing
   to interpolate on and resolving the option is an error: the index is never used silently as a forward.

Where two sources exist for the same expiry (1/2 and 3) and differ by more than ``max_forward_gap``
(relative, 1 % by default) the data are inconsistent and resolving is an error naming the instrument; an
option's own forward (1) for an expiry with neither 2 nor 3 is checked so against the forward the curve gives
that expiry (4), where the base has a curve (a ticker's forward of 1.0 for BTC is a data error, not a quote).
Where the base has no curve, an option's own forward must lie within a factor of 2 of the index (of ``2 ** t``
at ``t`` years to expiry beyond a year): a basis far beyond any crypto futures have carried.
Futures and perpetuals use their own mark; spot uses the index.  Linear (``BASE_USDC``) instruments share
the forward curve of their base (USDC taken at par with USD).

Why one module of ~570 lines: the snapshot, its forward curves and the resolver share the Market's caches
(curves per base, resolutions per table); file formats live in riskoffset.io, times in riskoffset.times.
"""

from __future__ import annotations

import bisect
import functools
import io
import math
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._types import FloatArray
from .errors import MarketDataError
from .instruments import (
    Instrument,
    InstrumentTable,
    expiry_code,
)
from .io.deribit import market_fields_from_deribit
from .io.market_files import market_csv, market_json, sample_market_text
from .times import SECONDS_PER_YEAR, TimeLike, epoch_ms, to_utc

#: Above this a decimal mark IV is taken to be a percentage given by mistake (10.0 = 1000 %).
MAX_DECIMAL_IV = 10.0

# An option's own forward on a base without a futures curve may lie at most this far from the index in
# |ln(F / index)|, per year to expiry (one year at least): a factor of 2 a year.
MAX_FORWARD_BASIS = math.log(2.0)

#: Codes of ResolvedMarket.forward_source.
FORWARD_SOURCES: tuple[str, ...] = (
    "ticker underlying_price",
    "expiry forward",
    "future of the expiry",
    "interpolated",
    "own mark",
    "index",
)
(
    SOURCE_OPTION_FORWARD,
    SOURCE_EXPIRY_FORWARD,
    SOURCE_FUTURE,
    SOURCE_INTERPOLATED,
    SOURCE_OWN_MARK,
    SOURCE_INDEX,
) = range(6)


def _finite_positive(kind: str, key: str, value: Any) -> float:
    x = _number(kind, key, value)
    if not (math.isfinite(x) and x > 0):
        raise MarketDataError(f"{kind} of {key} must be finite and > 0, got {x!r}", key)
    return x


def _number(kind: str, key: str, value: Any) -> float:
    """A market number given by a user or a file: a clear error naming the field and key if it is none."""
    if type(value) is float:  # the usual case, first (a live engine checks every quote it takes)
        return value
    if isinstance(value, bool):
        raise MarketDataError(f"{kind} of {key} is not a number: {value!r}", key)
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise MarketDataError(f"{kind} of {key} is not a number: {value!r}", key) from None


def _table(kind: str, value: Any, required: bool = False) -> Mapping[Any, Any]:
    """A name -> value field of a market (index, marks, ...): a mapping, or None for an empty optional one."""
    if type(value) is dict:  # the usual case, without the abstract-class check
        return value
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise MarketDataError(f"{kind} must be a mapping name -> value, got {type(value).__name__}")
    return value


def _checked_index(values: Any, required: bool = False) -> dict[str, float]:
    return {str(k): _finite_positive("index", str(k), v) for k, v in _table("index", values, required).items()}


def _checked_marks(values: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in _table("marks", values).items():
        x = _number("mark price", str(name), value)
        if not math.isfinite(x) or x < 0:
            raise MarketDataError(f"mark price of {name} must be finite and >= 0, got {value!r}", name)
        out[str(name)] = x
    return out


def _checked_mark_iv(values: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in _table("mark_iv", values).items():
        x = _number("mark_iv", str(name), value)
        if not (math.isfinite(x) and x >= 0):
            raise MarketDataError(f"mark_iv of {name} must be finite and >= 0, got {value!r}", name)
        if x > MAX_DECIMAL_IV:
            raise MarketDataError(
                f"mark_iv of {name} is {x!r}: vols are decimals (0.65 = 65 %); this looks like a percentage",
                name,
            )
        out[str(name)] = x
    return out


def _checked_forwards(values: Any) -> dict[str, float]:
    return {str(k): _finite_positive("forward", str(k), v) for k, v in _table("forwards", values).items()}


def _checked_timestamps(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, v in _table("timestamps", values).items():
        ms = _number("timestamp", str(k), v)
        if not (math.isfinite(ms) and abs(ms) < 1e15 and ms == int(ms)):
            raise MarketDataError(f"timestamp of {k} must be whole milliseconds since 1970, got {v!r}", str(k))
        out[str(k)] = int(ms)
    return out


@functools.lru_cache(maxsize=4096)
def expiry_name(base: str, expiration_ms: int) -> str:
    """The name of ``base``'s dated future (and expiry forward) expiring at ``expiration_ms``: ``BTC-27DEC26``."""
    return f"{base}-{expiry_code(datetime.fromtimestamp(expiration_ms / 1000, tz=timezone.utc))}"


def _day(expiration_ms: int) -> str:
    return datetime.fromtimestamp(expiration_ms / 1000, tz=timezone.utc).date().isoformat()


@functools.lru_cache(maxsize=4096)
def curve_point(name: str) -> tuple[str, int] | None:
    """(underlying, expiry in ms) when a futures mark or an expiry forward called ``name`` is a point of that
    underlying's forward curve: an inverse dated future (``BTC-27NOV26``).  None for anything else: a
    perpetual's or a linear future's mark prices that instrument alone."""
    if name.count("-") != 1 or name.endswith("-PERPETUAL"):
        return None
    try:
        inst = Instrument.parse(name)
    except ValueError:
        return None
    if inst.kind != "future" or inst.settlement != "inverse":
        return None
    return inst.base, inst.expiration_ms


class QuoteUpdate(NamedTuple):
    """Quotes checked by `Market.check_update`, for `Market.apply`."""

    index_prices: dict[str, float]  # (the index table; "index" is a tuple method)
    marks: dict[str, float]
    mark_iv: dict[str, float]
    forwards: dict[str, float]
    timestamps: dict[str, int]
    valuation_time: datetime | None


@dataclass(frozen=True)
class ResolvedMarket:
    """Market inputs per row of an InstrumentTable (all arrays of its length, read-only).

    forward: the F an option is priced on; a future's or perpetual's own mark; the index for spot.
    sigma: mark IV (decimal) for options, 0 elsewhere.  t: years to expiry (0 for perpetuals, spot and
    expired instruments).  expired: an option or future at or past expiry (priced at intrinsic).
    forward_source: index into FORWARD_SOURCES.  index: the underlying's index price.
    """

    forward: FloatArray
    sigma: FloatArray
    t: FloatArray
    expired: npt.NDArray[np.bool_]
    forward_source: npt.NDArray[np.int8]
    index: FloatArray
    valuation_time: datetime


class Market:
    """A market snapshot at ``valuation_time``.

    index: underlying (base coin, 'BTC') -> index price in USD.
    marks: instrument name -> mark price as the exchange quotes it (futures and perpetuals in USD; inverse
        options in coin, linear options in USDC).  Futures marks define the forward curve.
    mark_iv: option name -> mark implied vol as a decimal.
    forwards: option name -> its ticker's underlying_price, or expiry name 'BASE-DMMMYY' -> forward.
    timestamps: name (instrument, expiry or underlying) -> quote time in ms; with ``max_age`` (seconds)
        a quote older than that at valuation time (or newer than valuation plus max_age) is stale and
        resolving an instrument that uses it is an error.
    rate: continuously compounded rate for discounting option values (Deribit uses 0).
    instruments: optional InstrumentTable of the listed instruments (e.g. from get_instruments), used by
        books for contract sizes, tick sizes and fees.
    """

    def __init__(
        self,
        valuation_time: TimeLike,
        *,
        index: Mapping[str, float],
        marks: Mapping[str, float] | None = None,
        mark_iv: Mapping[str, float] | None = None,
        forwards: Mapping[str, float] | None = None,
        timestamps: Mapping[str, int] | None = None,
        rate: float = 0.0,
        max_age: float | None = None,
        max_forward_gap: float = 0.01,
        instruments: InstrumentTable | None = None,
        description: str = "",
    ):
        self.valuation_time = to_utc(valuation_time, "valuation_time")
        self._valuation_ms = epoch_ms(self.valuation_time)
        self.index: dict[str, float] = _checked_index(index, required=True)
        self.marks: dict[str, float] = _checked_marks(marks)
        self.mark_iv: dict[str, float] = _checked_mark_iv(mark_iv)
        self.forwards: dict[str, float] = _checked_forwards(forwards)
        self.timestamps: dict[str, int] = _checked_timestamps(timestamps)
        rate = _number("rate", "market", rate)
        if not math.isfinite(rate):
            raise ValueError(f"rate must be finite, got {rate!r}")
        self.rate = float(rate)
        if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, (int, float))
                                    or not 0 < max_age < math.inf):  # fmt: skip
            raise ValueError(f"max_age must be > 0 seconds or None, got {max_age!r}")
        self.max_age = max_age
        gap = _number("max_forward_gap", "market", max_forward_gap)
        if not 0 <= gap < math.inf:
            raise ValueError(f"max_forward_gap must be finite and >= 0, got {max_forward_gap!r}")
        self.max_forward_gap = gap
        self.instruments = instruments
        self.description = description
        self._curves: dict[str, tuple[FloatArray, FloatArray]] = {}
        self._curve_index: dict[str, tuple[tuple[int, int], tuple[list[tuple[str, int]], list[tuple[str, int]]]]] = {}
        self._curve_forwards: dict[tuple[str, int], tuple[tuple[int, int], float]] = {}
        self._forget_resolved()
        self._forget_times()
        # Stamps of what an option's forward and time resolve from (`forward_stamp`): one per underlying (its
        # index and curve points) and one for everything (the valuation time, the timestamps, a cleared cache).
        self._version = 0
        self._base_versions: dict[str, int] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its caches (resolved columns per instrument table), which are rebuilt on use."""
        state = dict(self.__dict__)
        state["_resolved"] = None
        state["_time_columns"] = None
        state["_curve_index"] = {}
        state["_curve_forwards"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._forget_resolved()
        self._forget_times()
        self._curve_index = {}
        self._curve_forwards = {}  # (never shared with the market copied: stamps are per market)
        self._version = state.get("_version", 0) + 1  # a market pickled before the stamps existed has none
        self._base_versions = dict(state.get("_base_versions", {}))

    def copy(self) -> Market:
        """A copy whose quote tables can be changed (`update`) without touching this market."""
        out = Market.__new__(Market)
        out.__setstate__(self.__getstate__())
        for name in ("index", "marks", "mark_iv", "forwards", "timestamps"):
            setattr(out, name, dict(getattr(self, name)))
        out._curves = {}
        return out

    def clear_caches(self) -> None:
        """Forget the forward curves and resolutions computed so far (after quotes changed in place)."""
        self._curves.clear()
        self._curve_index = {}
        self._forget_resolved()
        self._version += 1

    def forward_stamp(self, base: str) -> tuple[int, int]:
        """A stamp of what the forward and the time to expiry of an option of underlying ``base`` resolve from,
        besides the option's own quotes (its mark IV, mark and ticker forward): it changes whenever the base's
        index, a point of its forward curve (a futures mark, an expiry forward), the valuation time or the
        timestamps change, or the caches are cleared.  Equal stamps: those inputs are as they were."""
        return self._version, self._base_versions.get(base, 0)

    def update(
        self,
        *,
        index: Mapping[str, float] | None = None,
        marks: Mapping[str, float] | None = None,
        mark_iv: Mapping[str, float] | None = None,
        forwards: Mapping[str, float] | None = None,
        timestamps: Mapping[str, int] | None = None,
        valuation_time: TimeLike | None = None,
    ) -> None:
        """Change quotes in place, each checked as the constructor checks it, and drop the cached
        resolutions.  A market is otherwise a snapshot: the live engine keeps its own `copy` current this
        way.  Every value is checked before any is applied, so a bad one leaves the market as it was."""
        self.apply(
            Market.check_update(
                index=index,
                marks=marks,
                mark_iv=mark_iv,
                forwards=forwards,
                timestamps=timestamps,
                valuation_time=valuation_time,
            )
        )

    @staticmethod
    def check_option_quote(
        name: str, mark_iv: Any, mark_price: Any = None, forward: Any = None
    ) -> QuoteUpdate | None:
        """`check_update` of one option's ticker (its mark IV, and its mark and forward when given) where each
        value is a float a ticker may carry: a mark IV in [0, MAX_DECIMAL_IV], a mark and a forward finite and
        > 0.  None otherwise: the caller then checks the values in full, which names the one refused.  A live
        engine's vol tick, the most frequent quote, is checked here in one call."""
        if not (type(mark_iv) is float and 0.0 <= mark_iv <= MAX_DECIMAL_IV):
            return None
        marks: dict[str, float] = {}
        forwards: dict[str, float] = {}
        if mark_price is not None:
            if not (type(mark_price) is float and 0.0 < mark_price < math.inf):
                return None
            marks[name] = mark_price
        if forward is not None:
            if not (type(forward) is float and 0.0 < forward < math.inf):
                return None
            forwards[name] = forward
        return QuoteUpdate({}, marks, {name: mark_iv}, forwards, {}, None)

    @staticmethod
    def check_update(
        *,
        index: Mapping[str, float] | None = None,
        marks: Mapping[str, float] | None = None,
        mark_iv: Mapping[str, float] | None = None,
        forwards: Mapping[str, float] | None = None,
        timestamps: Mapping[str, int] | None = None,
        valuation_time: TimeLike | None = None,
    ) -> QuoteUpdate:
        """The checks of `update` alone (MarketDataError naming the first bad value), changing nothing: what it
        returns, given to `apply`, cannot fail."""
        return QuoteUpdate(
            _checked_index(index) if index is not None else {},
            _checked_marks(marks) if marks is not None else {},
            _checked_mark_iv(mark_iv) if mark_iv is not None else {},
            _checked_forwards(forwards) if forwards is not None else {},
            _checked_timestamps(timestamps) if timestamps is not None else {},
            to_utc(valuation_time, "valuation_time") if valuation_time is not None else None,
        )

    def apply(self, u: QuoteUpdate) -> None:
        """Apply quotes `check_update` checked, and drop the cached resolutions they change."""
        self.mark_iv.update(u.mark_iv)
        versions = self._base_versions
        if u.index_prices:
            self.index.update(u.index_prices)
            for base in u.index_prices:
                versions[base] = versions.get(base, 0) + 1
        if u.marks or u.forwards:
            self.marks.update(u.marks)
            self.forwards.update(u.forwards)
            for name in [*u.marks, *u.forwards]:
                point = curve_point(name)
                if point is not None:  # a point of a forward curve (`_curve`): that curve is rebuilt on use
                    base = point[0]
                    self._curves.pop(base, None)
                    versions[base] = versions.get(base, 0) + 1
        if u.valuation_time is not None or u.timestamps:
            self.timestamps.update(u.timestamps)
            self._version += 1
        if u.valuation_time is not None:
            self.valuation_time, self._valuation_ms = u.valuation_time, epoch_ms(u.valuation_time)
            self._curves.clear()
        if self._resolved_some:  # (a live engine's vol tick resolves nothing: no new dictionary then)
            self._forget_resolved()

    def _forget_times(self) -> None:
        """Drop the time columns kept per instrument table (`_times`)."""
        self._time_columns: weakref.WeakKeyDictionary[
            InstrumentTable, tuple[int, FloatArray, npt.NDArray[np.bool_]]
        ] = weakref.WeakKeyDictionary()

    def _forget_resolved(self) -> None:
        """Drop the resolutions kept per instrument table (`resolve`)."""
        self._resolved: weakref.WeakKeyDictionary[InstrumentTable, ResolvedMarket] = weakref.WeakKeyDictionary()
        self._resolved_some = False  # (a flag: a weak dictionary's length is a Python-level call)

    def __repr__(self) -> str:
        index = ", ".join(f"{k} {v:,.2f}" for k, v in sorted(self.index.items()))
        return (
            f"Market({self.valuation_time.isoformat()}, index {index}; {len(self.marks)} marks, "
            f"{len(self.mark_iv)} mark IVs, {len(self.forwards)} forwards)"
        )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_deribit(
        cls,
        quotes: Any,
        *,
        valuation_time: TimeLike | None = None,
        instruments: Any = None,
        max_age: float | None = None,
        rate: float = 0.0,
    ) -> Market:
        """From `public/ticker` and/or `public/get_book_summary_by_currency` objects (a list, one object or
        a JSON-RPC envelope; lists of several responses may be concatenated).

        mark_price -> marks, mark_iv (percent) -> mark_iv (decimal), an option's underlying_price ->
        forwards[option], index_price with underlying_index or the name's base -> index, timestamp /
        creation_timestamp -> timestamps.  valuation_time defaults to the latest quote time.
        instruments: optional get_instruments objects or an InstrumentTable."""
        try:
            fields = market_fields_from_deribit(quotes)
        except ValueError as exc:
            raise MarketDataError(str(exc)) from None
        timestamps = fields["timestamps"]
        table = instruments
        if instruments is not None and not isinstance(instruments, InstrumentTable):
            table = InstrumentTable.from_deribit(instruments)
        if valuation_time is None:
            if not timestamps:
                raise MarketDataError("no quote carries a timestamp; pass valuation_time")
            valuation_time = max(timestamps.values())
        return cls(
            valuation_time,
            index=fields["index"],
            marks=fields["marks"],
            mark_iv=fields["mark_iv"],
            forwards=fields["forwards"],
            timestamps=timestamps,
            rate=rate,
            max_age=max_age,
            instruments=table,
            description="Deribit tickers",
        )

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Mapping[str, Any]],
        *,
        valuation_time: TimeLike,
        index: Mapping[str, float],
        **options: Any,
    ) -> Market:
        """From plain table rows with columns instrument_name and any of mark_price, mark_iv (decimal),
        underlying_price (an option's forward, or an expiry's when instrument_name is 'BASE-DMMMYY' of an
        unlisted future) and timestamp (ms).  Empty cells are skipped."""
        marks: dict[str, float] = {}
        mark_iv: dict[str, float] = {}
        forwards: dict[str, float] = {}
        timestamps: dict[str, int] = {}

        def cell(row: Mapping[str, Any], key: str) -> float | None:
            value = row.get(key)
            if value is None or value == "":
                return None
            try:
                return float(value)
            except (TypeError, ValueError):
                raise MarketDataError(
                    f"{row.get('instrument_name')}: {key} {value!r} is not a number",
                    row.get("instrument_name"),
                ) from None

        for row in rows:
            name = str(row["instrument_name"])
            if (v := cell(row, "mark_price")) is not None:
                marks[name] = v
            if (v := cell(row, "mark_iv")) is not None:
                mark_iv[name] = v
            if (v := cell(row, "underlying_price")) is not None:
                forwards[name] = v
            if (v := cell(row, "timestamp")) is not None:
                timestamps[name] = int(v)
        return cls(
            valuation_time,
            index=index,
            marks=marks,
            mark_iv=mark_iv,
            forwards=forwards,
            timestamps=timestamps,
            **options,
        )

    @classmethod
    def from_csv(cls, source: str | Path | io.TextIOBase, **options: Any) -> Market:
        """From a CSV of rows (see from_rows) whose leading ``#`` comment lines carry ``key=value`` tokens:
        ``valuation_time=2026-11-25T08:00:00Z`` and ``index.BTC=95000`` (one per underlying); a line
        ``# description=...`` names the snapshot.  Instrument columns (kind, contract_size, tick_size,
        maker_commission, taker_commission, min_trade_amount), when present, build the market's instrument
        table."""
        text = source.read() if isinstance(source, io.TextIOBase) else Path(source).read_text()
        rows, defaults = market_csv(text, str(source))
        if "valuation_time" not in defaults and "valuation_time" not in options:
            raise MarketDataError(f"{source}: no '# valuation_time=...' line")
        return cls.from_rows(rows, **{**defaults, **options})

    @classmethod
    def from_json(cls, source: str | Path | Mapping[str, Any], **options: Any) -> Market:
        """From a JSON document (a path or the parsed dict) with keys valuation_time, index, and any of
        marks, mark_iv, forwards, timestamps, rate, max_age; or a Deribit ticker / book summary response
        (a list, a JSON-RPC envelope or a list of envelopes)."""
        kind, data = market_json(source)
        if kind == "deribit":
            return cls.from_deribit(data, **options)
        return cls(**{**data, **options})

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> Market:
        """From a .csv or .json file (by extension)."""
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"market file {str(p)!r} does not exist")
        try:
            if p.suffix.lower() == ".json":
                return cls.from_json(p, **options)
            if p.suffix.lower() == ".csv":
                return cls.from_csv(p, **options)
        except UnicodeDecodeError as exc:  # a binary or wrongly encoded file: name it
            raise ValueError(f"market file {str(p)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        raise ValueError(f"market file {str(p)!r}: expected a .csv or .json file")

    @classmethod
    def sample(cls) -> Market:
        """The bundled SYNTHETIC BTC and ETH snapshot (not market data): full chains of every listed
        expiry and strike, futures, perpetuals and linear USDC products."""
        rows, defaults = market_csv(sample_market_text(), "sample_market.csv")
        return cls.from_rows(rows, **defaults)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form read by from_json."""
        return {
            "valuation_time": self.valuation_time.isoformat().replace("+00:00", "Z"),
            "index": dict(self.index),
            "marks": dict(self.marks),
            "mark_iv": dict(self.mark_iv),
            "forwards": dict(self.forwards),
            "timestamps": dict(self.timestamps),
            "rate": self.rate,
            "max_age": self.max_age,
            "max_forward_gap": self.max_forward_gap,
            "description": self.description,
        }

    # ------------------------------------------------------------------ resolution
    def years_to(self, expiration_ms: npt.ArrayLike) -> FloatArray:
        """ACT/365 year fraction by the second (by the millisecond, in fact) from the valuation time."""
        return (np.asarray(expiration_ms, dtype=np.int64) - self._valuation_ms) / (1000.0 * SECONDS_PER_YEAR)

    def _check_age(self, key: str, instrument: str) -> None:
        if self.max_age is None or key not in self.timestamps:
            return
        age = (self._valuation_ms - self.timestamps[key]) / 1000.0
        if age > self.max_age:
            raise MarketDataError(
                f"{instrument}: the quote of {key} is stale: {age:.0f} s old at {self.valuation_time.isoformat()} "
                f"(max_age {self.max_age:g} s)",
                instrument,
            )
        if -age > self.max_age:
            raise MarketDataError(
                f"{instrument}: the quote of {key} is {-age:.0f} s after the valuation time "
                f"{self.valuation_time.isoformat()} (max_age {self.max_age:g} s)",
                instrument,
            )

    def _curve(self, base: str) -> tuple[FloatArray, FloatArray]:
        """(t, ln(F/index)) points of the base's forward curve: futures marks and expiry forwards with t > 0,
        sorted by t (an expiry forward wins over a future mark of the same expiry)."""
        if base in self._curves:
            return self._curves[base]
        points: dict[int, float] = {}
        for source, named in zip((self.marks, self.forwards), self._curve_names(base)):
            for name, expiration_ms in named:
                if name in source:
                    points[expiration_ms] = source[name]
        ms = np.array(sorted(points), dtype=np.int64)
        t = self.years_to(ms)
        keep = t > 0
        curve = (t[keep], np.array([points[int(m)] for m in ms[keep]], dtype=np.float64))
        self._curves[base] = curve
        return curve

    def _curve_names(self, base: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """(name, expiry) of the inverse futures of ``base`` among the marks and among the forwards: the
        names parsed once, again only when a table gained names (quotes of known names change in place)."""
        sizes = (len(self.marks), len(self.forwards))
        cached = self._curve_index.get(base)
        if cached is not None and cached[0] == sizes:
            return cached[1]
        found: list[list[tuple[str, int]]] = [[], []]
        for j, source in enumerate((self.marks, self.forwards)):
            for name in source:
                if name.startswith(base + "-"):
                    point = curve_point(name)
                    if point is not None and point[0] == base:
                        found[j].append((name, point[1]))
        names = (found[0], found[1])
        self._curve_index[base] = (sizes, names)
        return names

    def expiry_forward(
        self, base: str, expiration_ms: int, *, instrument: str | None = None
    ) -> tuple[float, int]:
        """(forward, source code) of one expiry of one base: its expiry forward, else its future's mark, else the
        curve (the module docstring)."""
        forward, source = self._expiry_quote(base, expiration_ms, instrument)
        if source == SOURCE_INTERPOLATED:
            forward = self._interpolated(base, [expiration_ms])[0]
        return forward, source

    def _expiry_quote(self, base: str, expiration_ms: int, instrument: str | None) -> tuple[float, int]:
        """`expiry_forward` but for the arithmetic of the curve: its quotes and checks, and NaN (source
        SOURCE_INTERPOLATED) where the forward is interpolated on the curve (`_interpolated`, whose inputs are
        checked here: every error of an expiry is raised here, in the order of the expiries)."""
        key = expiry_name(base, expiration_ms)
        who = instrument or key
        given = self.forwards.get(key)
        future = self.marks.get(key)
        if given is not None and future is not None:
            self._check_gap(who, given, future, f"forward of {key}", f"future {key}")
        if given is not None:
            self._check_age(key, who)
            return given, SOURCE_EXPIRY_FORWARD
        if future is not None:
            if future <= 0:
                raise MarketDataError(f"{who}: the mark of future {key} is {future!r}", who)
            self._check_age(key, who)
            return future, SOURCE_FUTURE
        t_points, _ = self._curve(base)
        if len(t_points) == 0:
            raise MarketDataError(
                f"{who}: no forward for {base} expiry {_day(expiration_ms)}: no future {key}, no ticker "
                f"underlying_price and no {base} futures curve to interpolate on (the index is never used as a "
                "forward)",
                who,
            )
        if base not in self.index:
            raise MarketDataError(
                f"{who}: interpolating the {base} forward for {_day(expiration_ms)} needs the {base} index "
                "(the t = 0 point of the curve)",
                who,
            )
        return math.nan, SOURCE_INTERPOLATED

    def _interpolated(self, base: str, expiration_ms: list[int]) -> list[float]:
        """Forwards of ``base`` at expiries interpolated on its curve (`_expiry_quote` checked that the
        curve and the index exist), the expiries at once."""
        t_points, f_points = self._curve(base)
        spot = self.index[base]
        # The curve from t = 0 (the index) on, in ln(F / spot), as Python floats: a curve has a point per listed
        # future, and numpy's calls on a few points cost an index move more than their arithmetic.
        t_at = [0.0, *t_points.tolist()]
        y_at = [0.0, *np.log(f_points / spot).tolist()]
        last_t, last_y = t_at[-1], y_at[-1]
        out = []
        for t_j in self.years_to(expiration_ms).tolist():
            if t_j <= 0:
                out.append(spot)  # at expiry the forward is spot: the curve's t = 0 point
            elif t_j >= last_t:
                out.append(spot * math.exp(last_y * t_j / last_t))  # the last point's annualised basis continues
            else:
                out.append(spot * math.exp(_interp(t_j, t_at, y_at)))
        return out

    def _curve_forward(self, base: str, expiration_ms: int) -> float:
        """`_interpolated` of one expiry, kept while the base's `forward_stamp` holds (a ticker's own forward is
        checked against it on every quote: 6 us a time computed afresh)."""
        stamp = self.forward_stamp(base)
        kept = self._curve_forwards.get((base, expiration_ms))
        if kept is not None and kept[0] == stamp:
            return kept[1]
        value = self._interpolated(base, [expiration_ms])[0]
        self._curve_forwards[(base, expiration_ms)] = (stamp, value)
        return value

    def _check_gap(self, who: str, a: float, b: float, what_a: str, what_b: str) -> None:
        if abs(a - b) > self.max_forward_gap * max(a, b):
            raise MarketDataError(
                f"{who}: inconsistent forwards: {what_a} is {a:,.6g} but {what_b} is {b:,.6g} "
                f"(more than max_forward_gap = {self.max_forward_gap:.2%} apart)",
                who,
            )

    def resolve(self, table: InstrumentTable) -> ResolvedMarket:
        """Forward, vol, time and index per row of ``table`` (vectorised over rows; one Python step per
        distinct expiry and one dict lookup per option).  Cached per table until the market is `update`d (an
        InstrumentTable does not change after construction).  MarketDataError names the first instrument whose data are
        missing, stale or inconsistent."""
        cached = self._resolved.get(table)
        if cached is not None:
            return cached
        n = len(table)
        names = table.names
        bases = table.underlyings
        index_of_base = np.array([self.index.get(b, math.nan) for b in bases], dtype=np.float64)
        index = index_of_base[table.underlying] if n else np.zeros(0)
        forward = np.full(n, math.nan)
        source = np.full(n, -1, dtype=np.int8)
        sigma = np.zeros(n)
        priced = table.priced_rows()
        t, expired = self._times(table, priced.dated)

        if self.max_age is not None and n:
            # Every margin method reads the index (USD conversion, price ranges): a stale one is refused.
            for code in np.unique(table.underlying).tolist():
                base = bases[code]
                if not math.isnan(index_of_base[code]):
                    first = int(np.flatnonzero(table.underlying == code)[0])
                    self._check_age(base, f"{names[first]} ({base} index)")

        def need_index(rows: npt.NDArray[np.intp], what: str) -> None:
            missing = rows[np.isnan(index[rows])]
            if len(missing):
                name = str(names[missing[0]])
                base = bases[table.underlying[missing[0]]]
                raise MarketDataError(f"{name}: no {base} index price in the market ({what})", name)

        # Futures and perpetuals: their own mark.
        for row, name in priced.futures:
            mark = self.marks.get(name)
            if mark is None:
                raise MarketDataError(f"{name}: no mark price in the market", name)
            if mark <= 0:
                raise MarketDataError(f"{name}: mark price {mark!r} is not > 0", name)
            self._check_age(name, name)
            forward[row] = mark
            source[row] = SOURCE_OWN_MARK
        spot_rows = priced.spot
        need_index(spot_rows, "spot is valued on the index")
        forward[spot_rows] = index[spot_rows]
        source[spot_rows] = SOURCE_INDEX
        for row in spot_rows.tolist():
            self._check_age(bases[table.underlying[row]], str(names[row]))

        # Options: vol by name, forward by the rules of the module docstring.
        layout = table.option_expiries()
        options = layout.rows
        if len(options):
            option_names = layout.names
            n_options = len(option_names)
            # NaN where a name has no quote (a quote is never NaN: each is checked finite as it comes in).
            ivs = np.fromiter(map(self.mark_iv.get, option_names, repeat(math.nan)), np.float64, n_options)
            # An option quoted by its mark price alone (e.g. a get_positions response) gets the implied vol of
            # that mark once its forward is known, as Deribit's mark IV is the IV of its mark price.
            from_mark = np.isnan(ivs)
            if from_mark.any():
                missing = [nm for nm, absent in zip(option_names, from_mark.tolist()) if absent and nm not in self.marks]
                if missing:
                    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                    raise MarketDataError(
                        f"{missing[0]}: no mark_iv and no mark price in the market{more}", missing[0]
                    )
            sigma[options] = ivs
            if self.max_age is not None:
                for nm in option_names:
                    self._check_age(nm, nm)
            if self.forwards:
                own = np.fromiter(map(self.forwards.get, option_names, repeat(math.nan)), np.float64, n_options)
            else:
                own = np.full(n_options, math.nan)
            # Per expiry, counted for all of them at once: how many options lack their own forward, and the first
            # that does (it names the expiry in an error).
            n_groups = len(layout.groups)
            lacking = np.flatnonzero(np.isnan(own))
            if len(lacking) == n_options:  # (no option has a forward of its own: every expiry's options lack one)
                n_lacking, firsts = layout.sizes, layout.firsts
            else:
                n_lacking = np.bincount(layout.group_of[lacking], minlength=n_groups).tolist()
                first_lacking = np.full(n_groups, n_options, dtype=np.int64)
                np.minimum.at(first_lacking, layout.group_of[lacking], lacking)
                firsts = first_lacking.tolist()
            expiry_fw = np.full(n_groups, math.nan)
            expiry_src = np.full(n_groups, SOURCE_OPTION_FORWARD, dtype=np.int8)
            on_curve: dict[str, list[tuple[int, int]]] = {}  # base -> (group, expiry) interpolated on its curve
            for j, ((code, ms, members), short, first) in enumerate(zip(layout.groups, n_lacking, firsts)):
                base = bases[code]
                if short:
                    expiry_fw[j], expiry_src[j] = self._expiry_quote(base, ms, str(names[options[first]]))
                    if expiry_src[j] == SOURCE_INTERPOLATED:
                        on_curve.setdefault(base, []).append((j, ms))
                if short < len(members):  # some quote their own forward: checked against the expiry's future
                    self._check_own_against_future(base, ms, own[members], options[members], names)
            for base, expiries in on_curve.items():  # (every check passed: the curves' arithmetic at once)
                at = [j for j, _ in expiries]
                expiry_fw[at] = self._interpolated(base, [ms for _, ms in expiries])
            per_option = expiry_fw[layout.group_of]
            use_own = ~np.isnan(own)
            forward[options] = np.where(use_own, own, per_option)
            source[options] = np.where(use_own, SOURCE_OPTION_FORWARD, expiry_src[layout.group_of])
            interpolated = options[source[options] == SOURCE_INTERPOLATED]
            need_index(interpolated, "the forward curve starts at the index")
            if from_mark.any():
                sigma[options[from_mark]] = self._vol_from_marks(table, options[from_mark], forward, t)
        resolved = ResolvedMarket(
            forward=_readonly(forward),
            sigma=_readonly(sigma),
            t=t,
            expired=expired,
            forward_source=_readonly(source),
            index=_readonly(index),
            valuation_time=self.valuation_time,
        )
        self._resolved[table] = resolved
        self._resolved_some = True
        return resolved

    def _times(
        self, table: InstrumentTable, dated: npt.NDArray[np.bool_]
    ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """(years to expiry, expired) per row of ``table`` (``dated``: its rows with an expiry), read-only, kept
        per table while the valuation time holds (an index move resolves the same table again)."""
        kept = self._time_columns.get(table)
        if kept is not None and kept[0] == self._valuation_ms:
            return kept[1], kept[2]
        t = np.where(dated, self.years_to(table.expiration_ms), 0.0)
        expired = dated & (t <= 0)
        t = _readonly(np.where(expired, 0.0, t))
        expired = _readonly(expired)
        self._time_columns[table] = (self._valuation_ms, t, expired)
        return t, expired

    def _vol_from_marks(
        self, table: InstrumentTable, rows: npt.NDArray[np.intp], forward: FloatArray, t: FloatArray
    ) -> FloatArray:
        """Implied vols of the options at ``rows`` from their marks (coin for inverse, quote currency for
        linear); 0 for an expired option or a mark at intrinsic value."""
        from .implied_vol import implied_vol
        from .instruments import SETTLEMENTS

        names = table.names[rows].tolist()
        mark = np.array([self.marks[n] for n in names], dtype=np.float64)
        sigma = np.zeros(len(rows))
        live = t[rows] > 0
        for code in np.unique(table.settlement[rows]).tolist():
            sel = live & (table.settlement[rows] == code)
            if not sel.any():
                continue
            r = rows[sel]
            sigma[sel] = implied_vol(
                mark[sel],
                table.flag[r] > 0,
                forward[r],
                table.strike[r],
                t[r],
                self.rate,
                settlement=SETTLEMENTS[code],
            )
        bad = live & ~np.isfinite(sigma)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise MarketDataError(
                f"{names[i]}: no mark_iv in the market, and its mark price {mark[i]!r} has no implied vol on the "
                f"forward {float(forward[rows[i]])!r} (below intrinsic or above the forward)",
                names[i],
            )
        return sigma

    def check_ticker_forward(self, name: str, base: str, expiration_ms: int, forward: float) -> None:
        """The check `resolve` makes of an option's own ticker forward: within ``max_forward_gap`` of the
        future mark (or the forward) of its expiry, or of the curve's forward for it where the expiry has
        neither; where the base has no curve, within the basis a forward can carry from the index
        (`_check_own_against_index`); else MarketDataError naming the option."""
        reference = self._own_forward_reference(base, expiration_ms)
        if reference is not None:
            self._check_gap(name, float(forward), reference[0], "its underlying_price", reference[1])
        else:
            self._check_own_against_index(base, expiration_ms, np.array([float(forward)]), [name])

    def _check_own_against_index(self, base: str, ms: int, own: FloatArray, names: Sequence[str]) -> None:
        """Options' own forwards (``own``, of expiry ``ms``) on a base without a futures curve, where nothing of
        their expiry can check them: each within a factor of 2 of the index, or of 2 ** t at t years to expiry
        (a basis of ln 2, 69 % a year, where crypto futures have carried a small fraction of that); a forward of
        1.0 for BTC or one in the wrong unit is a data error.  Nothing to check without an index."""
        spot = self.index.get(base)
        if spot is None:
            return
        limit = MAX_FORWARD_BASIS * max(1.0, float(self.years_to([ms])[0]))
        far = np.abs(np.log(own / spot)) > limit
        if far.any():
            i = int(np.flatnonzero(far)[0])
            raise MarketDataError(
                f"{names[i]}: its underlying_price {float(own[i]):,.6g} is {float(own[i]) / spot:.3g} times the {base} "
                f"index {spot:,.6g}: a forward so far from the index is a data error ({base} has no futures curve to "
                f"check it against; the bound is a factor of {math.exp(limit):.3g} at this expiry)",
                names[i],
            )

    def _own_forward_reference(self, base: str, ms: int) -> tuple[float, str] | None:
        """What an option's own forward at expiry ``ms`` is checked against, and its name: the expiry's future
        mark or forward, else the curve's forward for it; None with neither (no curve for the base)."""
        key = expiry_name(base, ms)
        reference = self.marks.get(key, self.forwards.get(key))
        if reference is not None:
            return reference, key
        if base not in self.index or len(self._curve(base)[0]) == 0:
            return None
        return self._curve_forward(base, ms), f"the {base} curve's forward for {_day(ms)}"

    def _check_own_against_future(
        self,
        base: str,
        ms: int,
        own: FloatArray,
        rows: npt.NDArray[np.intp],
        names: npt.NDArray[np.str_],
    ) -> None:
        reference = self._own_forward_reference(base, ms)
        if reference is None:
            self._check_own_against_index(base, ms, own, [str(n) for n in names[rows]])
            return
        gap = np.abs(own - reference[0]) > self.max_forward_gap * np.fmax(own, reference[0])
        if gap.any():
            i = int(np.flatnonzero(gap)[0])
            self._check_gap(str(names[rows[i]]), float(own[i]), reference[0], "its underlying_price", reference[1])


def _interp(x: float, xp: list[float], fp: list[float]) -> float:
    """``np.interp(x, xp, fp)`` for ``xp[0] < x < xp[-1]`` (``xp`` ascending), by its arithmetic (the same bits:
    tested against it)."""
    j = bisect.bisect_right(xp, x) - 1
    if xp[j] == x:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    return slope * (x - xp[j]) + fp[j]


def _readonly(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


__all__ = [
    "FORWARD_SOURCES",
    "SECONDS_PER_YEAR",
    "Market",
    "MarketDataError",
    "QuoteUpdate",
    "ResolvedMarket",
    "TimeLike",
    "to_utc",
]
