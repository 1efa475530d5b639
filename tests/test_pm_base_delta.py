"""The PM's roll and delta shocks read each instrument's coin delta from the unshocked column of the
scenario pass; checked against the Greeks kernel (`instrument_greeks`), an independent pricing call."""

from __future__ import annotations

import numpy as np
import riskoffset as ro
from riskoffset.instruments import INVERSE, KIND_FUTURE, KIND_OPTION, KIND_PERPETUAL
from riskoffset.margining.portfolio import PMParameters, instrument_vectors
from riskoffset.margining.vectors import vector_keys
from riskoffset.unit_greeks import instrument_greeks
from riskoffset.whatif import _empty_book


def test_roll_shock_deltas_come_from_the_scenario_pass() -> None:
    market = ro.Market.sample()
    table = market.instruments
    shell = _empty_book(table)
    params = PMParameters.load(None)
    _, _, delta = instrument_vectors(shell, market, params, vector_keys(shell, market))
    g = instrument_greeks(table, market)
    coin = np.where(table.settlement == INVERSE, g["delta_pa"], g["delta"])
    futures = (table.kind == KIND_FUTURE) | (table.kind == KIND_PERPETUAL)
    counted = futures | ((table.kind == KIND_OPTION) & params.roll_shock_includes_options)
    expected = np.where(counted, coin, 0.0)
    assert (table.kind == KIND_OPTION).sum() > 1000 and np.abs(expected).max() > 0.5
    np.testing.assert_allclose(delta, expected, rtol=4e-15, atol=4e-16)
    # inverse options carry the premium adjustment: delta - V / F differs from the plain delta
    inverse_options = (table.kind == KIND_OPTION) & (table.settlement == INVERSE)
    assert np.abs(delta[inverse_options] - g["delta"][inverse_options]).max() > 1e-3
