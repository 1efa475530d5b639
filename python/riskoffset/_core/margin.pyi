# Type stubs for riskoffset._core.margin (private; used by riskoffset.margining.portfolio).
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import TypeAlias

from .scenarios import OptionReprice

KEY_FIELDS: tuple[str, ...]

# Scenario grids (riskoffset.margining.grid) and SPAN (riskoffset.margining.span): their compiled passes
def grid_margin_accounts(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    quantity: npt.NDArray[np.float64],
    instrument_key: npt.NDArray[np.int64],
    n_keys: int,
    pnl: npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64],
    maintenance_ratio: float,
    provisions: float,
    delta: npt.NDArray[np.float64] | None = None,
    underlying: npt.NDArray[np.int64] | None = None,
    index: npt.NDArray[np.float64] | None = None,
    usd_like: npt.NDArray[np.uint8] | None = None,
    net_rate: float = 0.0,
    hedged_rate: float = 0.0,
    keep_vectors: bool = False,
) -> dict[str, Any]: ...
def grid_margin_group(
    pnl: npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64],
    min_delta: float,
    maintenance_ratio: float,
    provisions: float,
) -> dict[str, Any]: ...

# SPAN of an account from its positions (riskoffset.margining.span.bulk)
class SpanAccount:
    def __init__(self, model_m: dict[str, Any], model_i: dict[str, Any] | None, routing: dict[str, Any]) -> None: ...
    def __call__(
        self, rows: npt.NDArray[np.int64], n: npt.NDArray[np.float64]
    ) -> tuple[float, float, int] | None: ...
    def accounts(
        self, indptr: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], n: npt.NDArray[np.float64]
    ) -> dict[str, Any]: ...

def group_layout(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    instrument_key: npt.NDArray[np.int64],
    n_keys: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def portfolio_margin_accounts(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    quantity: npt.NDArray[np.float64],
    instrument_key: npt.NDArray[np.int64],
    vectors: npt.NDArray[np.float64],
    n_standard: int,
    extended_moves: npt.NDArray[np.float64],
    delta: npt.NDArray[np.float64],
    column: npt.NDArray[np.int64],
    t_column: npt.NDArray[np.float64],
    keys: npt.NDArray[np.float64],
    mm_factor: float,
    keep_vectors: bool = False,
    collateral: npt.NDArray[np.float64] | None = None,
    coins: npt.NDArray[np.float64] | None = None,
    coin_moves: npt.NDArray[np.float64] | None = None,
    coin_col: npt.NDArray[np.int64] | None = None,
    coin_gain_cap: npt.NDArray[np.float64] | None = None,
) -> dict[str, Any]: ...
def portfolio_margin_group(
    pre: npt.NDArray[np.float64],
    n_standard: int,
    extended_moves: npt.NDArray[np.float64],
    key: npt.NDArray[np.float64],
    net_by_column: npt.NDArray[np.float64],
    t_column: npt.NDArray[np.float64],
    mm_factor: float,
) -> dict[str, Any]: ...

class GroupSteps:
    def __init__(
        self,
        n_standard: int,
        extended_moves: npt.NDArray[np.float64],
        keys: npt.NDArray[np.float64],
        t_column: npt.NDArray[np.float64],
    ) -> None: ...
    def figures(
        self,
        pre: npt.NDArray[np.float64],
        key: int,
        net_by_column: npt.NDArray[np.float64],
        mm_factor: float,
    ) -> tuple[float, float, float, int, float, float, float, float]: ...

def settle(
    equity: npt.NDArray[np.float64],
    initial: npt.NDArray[np.float64],
    maintenance: npt.NDArray[np.float64],
    price: npt.NDArray[np.float64],
    cut_im: npt.NDArray[np.float64] | None = None,
    cut_mm: npt.NDArray[np.float64] | None = None,
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.bool_],
    npt.NDArray[np.bool_],
]: ...
def standard_positions(
    indices: npt.NDArray[np.int64], quantity: npt.NDArray[np.float64], units: dict[str, Any], by_component: bool = ...
) -> npt.NDArray[np.float64]: ...
def standard_groups(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    quantity: npt.NDArray[np.float64],
    units: dict[str, Any],
    currency: npt.NDArray[np.int64],
    n_currencies: int,
    status_rank: npt.NDArray[np.int64],
    n_ranks: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]: ...
def futures_pnl(
    amount: npt.NDArray[np.float64],
    average: npt.NDArray[np.float64],
    mark: npt.NDArray[np.float64],
    inverse: npt.NDArray[np.uint8],
) -> npt.NDArray[np.float64]: ...
# What a LiveRefresh call captures of the accounts whose level changed, one row per account: figures, (largest
# group, its worst scenario index), the positions losing most there (instrument rows, quantities, P&L in USD).
Captured: TypeAlias = tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]

NOT_CAPTURED: int  # a capture's first contributor instrument where the worst scenario awaits its search

class LiveRefresh:
    def __init__(
        self,
        instruments: dict[str, Any],
        pm: dict[str, Any] | None,
        state: dict[str, Any],
        price: npt.NDArray[np.float64],
        cut_im: npt.NDArray[np.float64] | None = None,
        cut_mm: npt.NDArray[np.float64] | None = None,
        threads: int = 1,
        grid_keys: npt.NDArray[np.uint8] | None = None,
        segments: npt.NDArray[np.uint8] | None = None,
    ) -> None: ...
    def update_market(self, price: npt.NDArray[np.float64], pm: dict[str, Any] | None = None) -> None: ...
    def figures(self, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float64], ...]: ...
    def trade(
        self,
        start: npt.NDArray[np.int64],
        end: npt.NDArray[np.int64],
        indices: npt.NDArray[np.int64],
        quantity: npt.NDArray[np.float64],
        average: npt.NDArray[np.float64],
        size: int,
        row: int,
        instrument: int,
        amount: float,
        price: float,
        fee: float,
        fee_col: int,
        refresh: bool,
        capture_top: int = 0,
        in_place: bool = False,
        /,
    ) -> tuple[int, bool, int, int, Captured | None, bool]: ...
    def what_if(
        self,
        start: npt.NDArray[np.int64],
        end: npt.NDArray[np.int64],
        indices: npt.NDArray[np.int64],
        quantity: npt.NDArray[np.float64],
        average: npt.NDArray[np.float64],
        size: int,
        row: int,
        instruments: Sequence[int],
        amounts: Sequence[float],
        prices: Sequence[float],
        fees: Sequence[float],
        fee_cols: Sequence[int],
        capture_top: int = 1,
    ) -> tuple[int, bool, int, Captured | None]: ...
    def balance(
        self,
        start: npt.NDArray[np.int64],
        end: npt.NDArray[np.int64],
        indices: npt.NDArray[np.int64],
        quantity: npt.NDArray[np.float64],
        average: npt.NDArray[np.float64],
        size: int,
        row: int,
        col: int,
        amount: float,
        add: bool,
        capture_top: int = 0,
    ) -> tuple[bool, int, int, Captured | None]: ...
    def option_tick(
        self,
        reprice: OptionReprice,
        row: int,
        sigma: float,
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
        indices: npt.NDArray[np.int64],
        quantity: npt.NDArray[np.float64],
        average: npt.NDArray[np.float64],
        rows: npt.NDArray[np.int64],
        capture_top: int = 0,
        trusted: bool = False,
        find_worst: bool = True,
    ) -> tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int8], Captured | None]: ...
    def __call__(
        self,
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
        indices: npt.NDArray[np.int64],
        quantity: npt.NDArray[np.float64],
        average: npt.NDArray[np.float64],
        rows: npt.NDArray[np.int64],
        find_worst: bool = True,
        capture_top: int = 0,
        trusted: bool = False,
    ) -> tuple[
        int,
        npt.NDArray[np.int64],
        npt.NDArray[np.int8],
        Captured | None,
    ]: ...
def collateral_usd(
    amounts: npt.NDArray[np.float64], price: npt.NDArray[np.float64], haircut: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]: ...
def futures_fill(held: float, average: float, quantity: float, price: float, inverse: bool) -> tuple[float, float, float]: ...
def rows_by_account(
    account: npt.NDArray[np.int64],
    currency: npt.NDArray[np.int64],
    usd_rate: npt.NDArray[np.float64],
    initial: npt.NDArray[np.float64],
    maintenance: npt.NDArray[np.float64],
    usd_code: int,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
]: ...
def worst_contributors(
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    quantity: npt.NDArray[np.float64],
    instrument_key: npt.NDArray[np.int64],
    vectors: npt.NDArray[np.float64],
    key: npt.NDArray[np.int64],
    scenario: npt.NDArray[np.int64],
    rate: npt.NDArray[np.float64],
    top: int = 3,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
