"""Parameters of Deribit portfolio margin (the current model): per currency pair and per settlement
currency, loaded from a dated preset in riskoffset/data/margin/deribit-pm_*.json or from Deribit's own
``model_params`` (see docs/margin.md, Deribit portfolio margin); and the scenario table they define."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._types import FloatArray
from . import parameters as P
from .scenarios import ScenarioSet, VolTerm

METHOD = "deribit-pm"
VOL_STATES = ("up", "same", "down")
PAIR_KEYS = (
    "price_range",
    "volatility_range_up",
    "volatility_range_down",
    "min_volatility_for_shock_up",
    "short_term_vega_power",
    "long_term_vega_power",
    "extended_table_factor",
    "max_delta_shock",
    "delta_total_liq_shock_threshold",
    "m_inc",
)
CURRENCY_KEYS = (
    "annualised_move_risk",
    "min_annualised_move",
    "extended_dampener",
    "pnl_offset",
    "max_offsetable_pnl",
)
ENGINE_KEYS = (
    "extended_moves",
    "vol_pivot_days",
    "vol_days_floor",
    "vol_down_floor",
    "roll_shock_includes_options",
)
ADDONS = ("open_orders_margin", "mmp_margin", "spot_margin")
#: Settlement currencies that take another currency's parameters when model_params lacks their own.
CURRENCY_ALIASES = {"usdc": "usd", "usdt": "usd"}


@dataclass(frozen=True)
class PairParameters:
    price_range: float
    volatility_range_up: float
    volatility_range_down: float
    min_volatility_for_shock_up: float
    short_term_vega_power: float
    long_term_vega_power: float
    extended_table_factor: float
    max_delta_shock: float
    delta_total_liq_shock_threshold: float
    m_inc: float


@dataclass(frozen=True)
class CurrencyParameters:
    annualised_move_risk: float
    min_annualised_move: float
    extended_dampener: float
    pnl_offset: float
    max_offsetable_pnl: float


@dataclass(frozen=True)
class PMParameters:
    """A Deribit PM parameter set: ``model_params`` (pairs, currencies, general) plus the engine values
    Deribit does not publish there (extended moves, DTE floor, vol floor), each from data."""

    name: str
    source: str
    pairs: Mapping[str, PairParameters]
    currencies: Mapping[str, CurrencyParameters]
    mm_factor: float
    buckets_count: int
    extended_moves: tuple[float, ...]
    vol_pivot_days: float
    vol_days_floor: float
    vol_down_floor: float
    roll_shock_includes_options: bool
    addons: Mapping[str, Mapping[str, float]]

    @classmethod
    def load(cls, source: Any = None) -> PMParameters:
        """From a preset name (default ``"deribit-pm"``: every bundled dated set, the most recent value of each
        pair and currency winning), a JSON path, our file layout as a mapping, Deribit's bare
        ``model_params`` object, or a whole ``private/pme/simulate`` response.  Deribit's own objects take
        the engine values of the latest bundled set.  ``{"addons": {"btc_btc": {"mmp_margin": ...}}}`` next
        to ``model_params`` adds given open-order, MMP and spot margins to IM."""
        if isinstance(source, PMParameters):
            return source
        if source is None or source == METHOD:
            return cls._merged_bundled()
        doc, origin = P.load(source, METHOD)
        return cls.from_document(doc, origin)

    @classmethod
    def _merged_bundled(cls) -> PMParameters:
        files = P.bundled_files(METHOD)
        if not files:
            raise P.ParameterError("no bundled deribit-pm parameter files")
        merged: dict[str, Any] = {"currency_pair": {}, "currency": {}}
        for _, _, doc in files:  # oldest first: later files override pair by pair, currency by currency
            mp = P.section(doc, "model_params", str(doc.get("name")))
            merged["currency_pair"].update(P.section(mp, "currency_pair", "model_params"))
            merged["currency"].update(P.section(mp, "currency", "model_params"))
            merged["general"] = P.section(mp, "general", "model_params")
        latest = files[-1][2]
        doc = {
            "name": METHOD,
            "source": "; ".join(P.describe(d, n) for n, _, d in files),
            "model_params": merged,
            "engine": latest.get("engine"),
        }
        params = cls.from_document(doc, "deribit-pm (bundled sets merged, most recent wins)")
        return params

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], origin: str) -> PMParameters:
        if "result" in doc and isinstance(doc["result"], Mapping):  # a JSON-RPC pme/simulate response
            doc = doc["result"]
        if "model_params" in doc:
            model = P.section(doc, "model_params", origin)
        elif "currency_pair" in doc:
            model = doc
        else:
            raise P.ParameterError(
                f"{origin}: expected a deribit-pm parameter file (with 'model_params'), Deribit's model_params "
                "object (currency_pair, currency, general) or a private/pme/simulate response"
            )
        engine_doc = doc.get("engine")
        engine_origin = f"{origin}: engine"
        if engine_doc is None:
            files = P.bundled_files(METHOD)
            if not files:
                raise P.ParameterError(f"{origin}: no 'engine' section and no bundled set to take it from")
            engine_doc = files[-1][2].get("engine")
            engine_origin = f"{files[-1][0]} (bundled): engine"
        if not isinstance(engine_doc, Mapping):
            raise P.ParameterError(f"{engine_origin}: expected an object")
        where = f"{origin}: model_params"
        pairs = {}
        for key, value in P.section(model, "currency_pair", where).items():
            w = f"{where}.currency_pair.{key}"
            if not isinstance(value, Mapping):
                raise P.ParameterError(f"{w}: expected an object")
            pairs[str(key)] = PairParameters(*(P.number(value, k, w, minimum=0.0) for k in PAIR_KEYS))
            if pairs[str(key)].price_range <= 0:
                raise P.ParameterError(f"{w}.price_range: must be > 0")
        currencies = {}
        for key, value in P.section(model, "currency", where).items():
            w = f"{where}.currency.{key}"
            if not isinstance(value, Mapping):
                raise P.ParameterError(f"{w}: expected an object")
            currencies[str(key)] = CurrencyParameters(
                *(P.number(value, k, w, minimum=0.0) for k in CURRENCY_KEYS)
            )
        general = P.section(model, "general", where)
        w = f"{where}.general"
        buckets = P.number(general, "buckets_count", w, minimum=1)
        vol_states = P.number(general, "vol_scenarios_count", w)
        if buckets != int(buckets):
            raise P.ParameterError(f"{w}.buckets_count: must be an integer, got {buckets!r}")
        if vol_states != 3:
            raise P.ParameterError(
                f"{w}.vol_scenarios_count: only 3 vol states (up, same, down) are modelled"
            )
        moves = engine_doc.get("extended_moves")
        if not isinstance(moves, list) or not all(
            isinstance(m, (int, float)) and not isinstance(m, bool) and m > -1 and m != 0 for m in moves
        ):
            raise P.ParameterError(f"{engine_origin}.extended_moves: expected a list of non-zero moves > -1")
        flag = engine_doc.get("roll_shock_includes_options")
        if not isinstance(flag, bool):
            raise P.ParameterError(f"{engine_origin}.roll_shock_includes_options: expected true or false")
        addons: dict[str, dict[str, float]] = {}
        for key, value in (doc.get("addons") or {}).items():
            if not isinstance(value, Mapping):
                raise P.ParameterError(f"{origin}: addons.{key}: expected an object")
            unknown = set(value) - set(ADDONS)
            if unknown:
                raise P.ParameterError(f"{origin}: addons.{key}: unknown {sorted(unknown)}; known: {ADDONS}")
            addons[str(key)] = {k: P.number(value, k, f"{origin}: addons.{key}", minimum=0.0) for k in value}
        name = str(doc.get("name", origin))
        source = P.describe(doc, origin) if "source" in doc else f"{origin} (model_params)"
        timestamp = general.get("timestamp")
        if timestamp is not None and "source" not in doc:
            source += f", model_params.general.timestamp {timestamp}"
        return cls(
            name=name,
            source=source,
            pairs=pairs,
            currencies=currencies,
            mm_factor=P.number(general, "mm_factor", w, minimum=0.0, maximum=1.0),
            buckets_count=int(buckets),
            extended_moves=tuple(float(m) for m in moves),
            vol_pivot_days=P.number(engine_doc, "vol_pivot_days", engine_origin, minimum=1.0),
            vol_days_floor=P.number(engine_doc, "vol_days_floor", engine_origin, minimum=0.0),
            vol_down_floor=P.number(engine_doc, "vol_down_floor", engine_origin, minimum=0.0),
            roll_shock_includes_options=flag,
            addons=addons,
        )

    def pair(self, base: str) -> PairParameters:
        key = f"{base.lower()}_usd"
        if key not in self.pairs:
            raise P.ParameterError(
                f"{self.name}: no currency_pair {key!r} (parameters for {', '.join(sorted(self.pairs))})"
            )
        return self.pairs[key]

    def currency(self, settlement_currency: str) -> CurrencyParameters:
        key = settlement_currency.lower()
        found = self.currencies.get(key) or self.currencies.get(CURRENCY_ALIASES.get(key, ""))
        if found is None:
            raise P.ParameterError(
                f"{self.name}: no currency {key!r} (parameters for {', '.join(sorted(self.currencies))})"
            )
        return found

    @property
    def n_standard(self) -> int:
        return 3 * (2 * self.buckets_count + 1)

    def standard_moves(self, pair: PairParameters) -> FloatArray:
        b = np.arange(2 * self.buckets_count + 1, dtype=np.float64)
        return np.asarray(pair.price_range * (b - self.buckets_count) / self.buckets_count, dtype=np.float64)

    def scenarios(self, pair: PairParameters) -> ScenarioSet:
        """The 3 (2B+1) standard and len(extended_moves) extended scenarios of one pair (entry ``3 b + v``,
        v in [up, same, down], then the extended moves with vol up); built once per pair (the live engine asks
        for them on every tick)."""
        cache: dict[PairParameters, ScenarioSet] = self.__dict__.setdefault("_scenario_sets", {})
        if pair not in cache:
            built = self._scenarios(pair)
            for value in vars(built).values():  # shared from now on: read-only
                if isinstance(value, np.ndarray):
                    value.flags.writeable = False
            cache[pair] = built
        return cache[pair]

    def _scenarios(self, pair: PairParameters) -> ScenarioSet:
        up, down = pair.volatility_range_up, -pair.volatility_range_down
        standard = self.standard_moves(pair)
        ext = np.asarray(self.extended_moves)
        labels = [
            f"bucket {b + 1} ({_side(m)}, price {m:+.2%}), vol {state}"
            for b, m in enumerate(standard.tolist())
            for state in VOL_STATES
        ]
        labels += [f"extended price {m:+.0%}, vol up" for m in ext.tolist()]
        return ScenarioSet(
            price_move=np.concatenate((np.repeat(standard, 3), ext)),
            vol_shift=np.concatenate((np.tile([up, 0.0, down], len(standard)), np.full(len(ext), up))),
            vol_mode="relative",
            vol_term=VolTerm(
                pair.short_term_vega_power,
                pair.long_term_vega_power,
                self.vol_pivot_days,
                self.vol_days_floor,
            ),
            vol_floor_up=pair.min_volatility_for_shock_up,
            vol_floor=self.vol_down_floor,
            labels=tuple(labels),
        )


def _side(m: float) -> str:
    return "left" if m < 0 else "right" if m > 0 else "centre"
