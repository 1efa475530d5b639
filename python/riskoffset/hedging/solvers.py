"""Hedge quantities: least squares with a cost penalty for Greek targets, a linear program for the
margin-minimising hedge, and rounding to lots.

**Greek targets** (``delta``, ``delta-gamma``, ``delta-gamma-vega``).  With ``E`` the per-lot exposure
matrix (Greek rows x candidates), ``b`` the book's exposures and ``z`` the hedge in lots, minimise

    sum_g (w_g (E z + b)_g)^2  +  lambda sum_k (c_k z_k / (c_max (1 + |z0|_max)))^2

where ``w_g = 1 / max(|b_g|, max_k |E_gk|)`` puts every Greek on the scale of the book's own exposure (or of
one lot), ``c_k`` is the fee plus half-spread of one lot, ``z0`` the unpenalised minimum-norm solution.  The
penalty is relative: ``lambda`` (``cost_penalty``, default 1e-8) gives up about that fraction of the
exposure to save cost.  Candidates that move the targeted Greeks in the same proportions (two futures of
one underlying for a delta target) are equivalent: costs are linear in the amount, so splitting between
them saves nothing, and only the cheapest per unit of exposure is kept (`equivalent_keep`; one order to send).
The solution is rounded to whole lots greedily, coarsest candidate first: each is fixed to its floor or
ceiling, whichever leaves the smaller objective after the candidates not yet fixed are
re-solved, so the fine lots (perpetuals) absorb the rounding of coarse ones (options); the result reports
the exposures the rounding leaves.

**Margin target**.  The Deribit PM requirement of the account is, per risk group ``g`` (its
worst-scenario loss plus roll shock; docs/margin.md), ``max(0, -min_j (S_gj + sum_k P_jk h_k)) + per_coin sum_e rate_e |D_ge + sum_k d_k
h_k|`` (``S = L + A`` the cached vector with the dampener offsets, ``P`` the candidates' scenario P&Ls,
``d`` their coin deltas in the roll shock), a maximum of functions linear in ``h``.  So minimising IM in USD
plus transaction cost is the linear program, in lots ``z``:

    minimise   sum_g usd_g (t_g + per_coin_g sum_e rate_ge s_ge) + sum_k c_k a_k
    subject to -(S_gj + sum_k P_jk lot_k z_k) <= t_g          every group g, scenario j
               |D_ge + sum_k d_k lot_k z_k| <= s_ge            every group g, expiry e the candidates touch
               |z_k| <= a_k,   t, s, a >= 0

solved by HiGHS (`scipy.optimize.linprog`, method="highs"; scipy is the optional extra
``riskoffset[hedge]``).  The delta shock (zero below its 20,000,000 USD threshold) is not in the program; it
is in the exact margin every candidate rounding is scored with.  The continuous optimum is rounded to lots
by scoring every floor/ceil combination (up to 8 candidates; else nearest) with the exact what-if margin
plus cost, then improved while moving candidates by a lot (several at once for up to 4 candidates) lowers that
score.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .._types import FloatArray, IntArray
from ..whatif import WhatIf

MAX_EXHAUSTIVE = 8  # 2^8 = 256 floor/ceil combinations at most
MAX_LOCAL_STEPS = 100
MAX_DIAGONAL = 4  # up to 4 candidates the local search also moves several at once (3^4 - 1 moves)


def _combinations(z: FloatArray) -> list[FloatArray]:
    low = np.floor(z)
    if len(z) > MAX_EXHAUSTIVE:
        return [np.rint(z)]
    fractional = np.flatnonzero(z != low)
    out = []
    for bits in itertools.product((0.0, 1.0), repeat=len(fractional)):
        c = low.copy()
        c[fractional] += bits
        out.append(c)
    return out


def check_cost_penalty(cost_penalty: Any) -> None:
    """A finite number >= 0 (NaN or inf would reach the least-squares solver as a matrix it cannot factor)."""
    try:
        value = float(cost_penalty)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(cost_penalty, (bool, str)) or not 0.0 <= value < math.inf:
        raise ValueError(f"cost_penalty must be a finite number >= 0, got {cost_penalty!r}")


def greek_hedge(
    exposure: FloatArray, book: FloatArray, lots: FloatArray, lot_cost: FloatArray, cost_penalty: float = 1e-8
) -> tuple[FloatArray, FloatArray]:
    """(continuous hedge, rounded hedge) in amount units for Greek rows (module doc); ``cost_penalty`` as
    `check_cost_penalty` passed it (`hedge` checks it once, for every target)."""
    e_lot = exposure * lots[None, :]
    scale = np.maximum(np.abs(book), np.abs(e_lot).max(axis=1, initial=0.0))
    scale = np.where(scale > 0, scale, 1.0)
    keep = equivalent_keep(e_lot / scale[:, None], lot_cost)  # on the Greeks' own scales, as solved
    z_all = np.zeros(len(lots))
    h_all = np.zeros(len(lots))
    if not keep.any():
        return z_all, h_all
    exposure, lots, lot_cost, e_lot = exposure[:, keep], lots[keep], lot_cost[keep], e_lot[:, keep]
    a = e_lot / scale[:, None]
    y = -book / scale
    z0 = np.linalg.lstsq(a, y, rcond=None)[0]
    c = np.abs(lot_cost)
    c = c / c.max() if c.max() > 0 else np.ones_like(c)
    c = np.maximum(
        c, 1e-3
    )  # every candidate regularised a little: ties resolve, collinear columns stay finite
    ridge = np.sqrt(cost_penalty) * c / (1.0 + np.abs(z0).max(initial=0.0))
    z = _solve(a, y, ridge)
    best = _round_greedy(a, y, ridge, z)
    z_all[keep] = z * lots
    h_all[keep] = np.round(best * lots, 8)  # amounts to the netting resolution (1e-8): no 5.300000000000001
    return z_all, h_all


def equivalent_keep(
    e_lot: FloatArray, lot_cost: FloatArray, tolerance: float = 1e-9
) -> npt.NDArray[np.bool_]:
    """Which candidates a Greek hedge may trade: among candidates whose exposures (columns of ``e_lot``, per
    lot) are proportional, i.e. that move the targeted Greeks the same way (two futures of one underlying
    for a delta target), only the one with the least cost per unit of exposure (``lot_cost``, per lot and
    signed, so a maker rebate counts as the cheapest); the first listed on a tie.
    Costs are linear in the amount traded, so splitting between equivalents never saves anything and
    only adds orders.  Candidates that move nothing are dropped too."""
    n = e_lot.shape[1]
    norm = np.sqrt((e_lot * e_lot).sum(axis=0))
    keep: npt.NDArray[np.bool_] = np.asarray(norm > 0, dtype=np.bool_)
    unit = np.where(keep[None, :], e_lot / np.where(norm > 0, norm, 1.0)[None, :], 0.0)
    # Direction up to sign: the first non-zero entry of each column made positive.
    for k in np.flatnonzero(keep).tolist():
        first = unit[np.flatnonzero(unit[:, k])[0], k]
        if first < 0:
            unit[:, k] = -unit[:, k]
    per_exposure = lot_cost / np.where(norm > 0, norm, 1.0)  # signed: a maker rebate is the cheapest
    for k in range(n):
        if not keep[k]:
            continue
        same = [j for j in range(n) if keep[j] and np.abs(unit[:, j] - unit[:, k]).max() <= tolerance]
        least = per_exposure[same].min()
        best = min(same, key=lambda j: (per_exposure[j] - least > tolerance * abs(least), j))
        for j in same:
            keep[j] = j == best
    return keep


def _solve(a: FloatArray, y: FloatArray, ridge: FloatArray) -> FloatArray:
    stacked = np.vstack((a, np.diag(ridge)))
    return np.asarray(np.linalg.lstsq(stacked, np.concatenate((y, np.zeros(len(ridge)))), rcond=None)[0])


def _round_greedy(a: FloatArray, y: FloatArray, ridge: FloatArray, z: FloatArray) -> FloatArray:
    """Whole lots, coarsest candidate first: fix it to its floor or ceiling, whichever leaves the smaller
    objective once the candidates not yet fixed are re-solved continuously, and go on with the next; fine
    instruments (a perpetual's 10 USD lot) end up absorbing the rounding of coarse ones (an option's 0.1)."""
    n = len(z)
    fixed = np.zeros(n, dtype=bool)
    current = z.copy()
    coarseness = np.abs(a).max(axis=0, initial=0.0)
    for k in np.argsort(-coarseness, kind="stable").tolist():
        best_value, best_score = float(np.rint(current[k])), np.inf
        for value in {float(np.floor(current[k])), float(np.ceil(current[k]))}:
            trial = current.copy()
            trial[k] = value
            free = ~fixed
            free[k] = False
            if free.any():
                rest = y - a[:, ~free] @ trial[~free]
                trial[free] = _solve(a[:, free], rest, ridge[free])
            r = a @ trial - y
            # Rounding is judged on the residual; the cost penalty only breaks ties (at lot scale it would
            # otherwise outweigh a lot of residual on large hedges).
            score = float(r @ r) * (1.0 + 1e-12) + float(((ridge * trial) ** 2).sum()) * 1e-12
            if score < best_score:
                best_value, best_score = value, score
        current[k] = best_value
        fixed[k] = True
        free = ~fixed
        if free.any():
            current[free] = _solve(a[:, free], y - a[:, fixed] @ current[fixed], ridge[free])
    return np.rint(current)


def _require_scipy() -> Any:
    try:
        from scipy.optimize import linprog  # type: ignore[import-untyped]  # no stubs; optional extra
    except ImportError:  # pragma: no cover - scipy is installed where the tests run
        raise ImportError(
            "the margin-minimising hedge solves a linear program with HiGHS through scipy; install it with "
            "`pip install riskoffset[hedge]` (or `pip install scipy`)"
        ) from None
    return linprog


def margin_lp(w: WhatIf, rows: IntArray, lots: FloatArray, unit_cost: FloatArray) -> FloatArray:
    """The continuous margin-minimising hedge (amount units) of ``w``'s account over universe ``rows``."""
    linprog = _require_scipy()
    n = len(rows)
    key = w.keys.key[rows]
    column = w.column[rows]
    groups = sorted(set(key.tolist()))
    pairs = sorted({(int(k), int(e)) for k, e in zip(key.tolist(), column.tolist())})
    n_t, n_s = len(groups), len(pairs)
    n_var = 2 * n + n_t + n_s  # z, a, t, s
    objective = np.zeros(n_var)
    objective[n : 2 * n] = np.abs(unit_cost) * lots
    a_rows: list[FloatArray] = []
    b_rows: list[float] = []
    for gi, k in enumerate(groups):
        g = w.groups[k]
        objective[2 * n + gi] = g.usd_rate
        sel = key == k
        p = np.zeros((len(g.shifted), n))
        p[:, sel] = (w.vectors[rows[sel]] * lots[sel, None]).T
        block = np.zeros((len(g.shifted), n_var))
        block[:, :n] = -p
        block[:, 2 * n + gi] = -1.0
        a_rows.extend(block)
        b_rows.extend(g.shifted.tolist())
    for si, (k, e) in enumerate(pairs):
        g = w.groups[k]
        objective[2 * n + n_t + si] = g.usd_rate * g.per_coin * g.rate[e]
        d = np.where((key == k) & (column == e), w.delta_unit[rows] * lots, 0.0)
        for sign in (1.0, -1.0):
            row = np.zeros(n_var)
            row[:n] = sign * d
            row[2 * n + n_t + si] = -1.0
            a_rows.append(row)
            b_rows.append(-sign * g.delta_by_expiry[e])
    for k in range(n):
        for sign in (1.0, -1.0):
            row = np.zeros(n_var)
            row[k] = sign
            row[n + k] = -1.0
            a_rows.append(row)
            b_rows.append(0.0)
    bounds = [(None, None)] * n + [(0.0, None)] * (n + n_t + n_s)
    solution = linprog(objective, A_ub=np.array(a_rows), b_ub=np.array(b_rows), bounds=bounds, method="highs")
    if solution.status != 0:
        raise RuntimeError(f"the margin-minimising linear program failed: {solution.message}")
    return np.asarray(solution.x[:n] * lots, dtype=np.float64)


def round_for_margin(
    w: WhatIf, rows: IntArray, hedge: FloatArray, lots: FloatArray, unit_cost: FloatArray
) -> FloatArray:
    """The lot-rounded hedge near ``hedge`` with the least exact IM (USD) plus transaction cost."""
    names = w.table.names[rows].tolist()
    cost = np.abs(unit_cost)

    def score(z: FloatArray) -> float:
        h = np.round(z * lots, 8)
        orders = [(name, float(q)) for name, q in zip(names, h.tolist()) if q != 0.0]
        return w.basket(orders).initial_usd_after + float(cost @ np.abs(h))

    best, best_score = np.rint(hedge / lots), np.inf
    for z in _combinations(hedge / lots):
        s = score(z)
        if s < best_score:
            best, best_score = z, s
    # Then a local search one lot at a time (the rounded optimum of a piecewise-linear objective can sit a
    # lot beyond the floor/ceiling box): move while some candidate's +/- 1 lot lowers the exact score.
    n = len(best)
    if n <= MAX_DIAGONAL:
        moves = [np.array(d, dtype=np.float64) for d in itertools.product((-1, 0, 1), repeat=n) if any(d)]
    else:
        moves = [sign * np.eye(n)[k] for k in range(n) for sign in (1.0, -1.0)]
    for _ in range(MAX_LOCAL_STEPS):
        improved = False
        for move in moves:
            trial = best + move
            s = score(trial)
            if s < best_score * (1.0 - 1e-15):
                best, best_score, improved = trial, s, True
        if not improved:
            break
    return np.round(best * lots, 8)


__all__ = ["MAX_EXHAUSTIVE", "equivalent_keep", "greek_hedge", "margin_lp", "round_for_margin"]
