"""ro.revalue (instrument x scenario full revaluation) against ro.price on the same shocked inputs."""

from __future__ import annotations

import numpy as np
import pytest
import riskoffset as ro

RNG = np.random.default_rng(11)
N, M = 203, 27  # neither a multiple of any SIMD width
FORWARD = RNG.uniform(1_000.0, 100_000.0, N)
STRIKE = FORWARD * np.exp(RNG.uniform(-1.0, 1.0, N))
T = RNG.uniform(-0.01, 2.0, N)  # a few expired instruments
FLAG = RNG.choice([-1.0, 0.0, 1.0], N)
SIGMA_STATES = RNG.uniform(0.2, 1.5, (N, 3))
VOL_STATE = np.tile(np.arange(3, dtype=np.int32), M // 3)
MOVE = np.repeat(np.linspace(-0.16, 0.16, M // 3), 3)
INVERSE = RNG.random(N) < 0.5


def reference(r: float = 0.0, time_shift: np.ndarray | None = None) -> np.ndarray:
    """Each (instrument, scenario) priced on its own by ro.price (linear), then converted."""
    f = FORWARD[:, None] * (1.0 + MOVE[None, :])
    sigma = SIGMA_STATES[:, VOL_STATE]
    t = T[:, None] - (0.0 if time_shift is None else time_shift[None, :])
    t = np.maximum(t, 0.0)
    flags = np.where(FLAG > 0, "c", "p")[:, None]
    value = ro.price(flags, f, STRIKE[:, None], t, r, sigma)
    value = np.where(FLAG[:, None] == 0.0, f, value)
    return np.where(INVERSE[:, None], value / f, value)


# Relative 1e-12 where the value is not tiny, else absolute 1e-14 of the scenario forward; the
# two paths share the formulas but hoist ln(F/K) differently, so the last bits may differ.
def assert_close(got: np.ndarray, want: np.ndarray) -> None:
    scale = np.where(INVERSE[:, None], 1.0, FORWARD[:, None] * (1.0 + MOVE[None, :]))
    bad = np.abs(got - want) > np.maximum(1e-12 * np.abs(want), 1e-14 * scale)
    assert not bad.any(), f"{bad.sum()} entries differ; first at {np.argwhere(bad)[0]}"


def test_matches_individual_pricing(simd_target: str) -> None:
    got = ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE, inverse=INVERSE)
    assert got.shape == (N, M)
    assert_close(got, reference())


def test_rate_and_time_shift(simd_target: str) -> None:
    shift = np.linspace(0.0, 7 / 365, M)
    got = ro.revalue(
        FLAG,
        FORWARD,
        STRIKE,
        T,
        SIGMA_STATES,
        MOVE,
        vol_state=VOL_STATE,
        inverse=INVERSE,
        r=0.03,
        time_shift=shift,
    )
    assert_close(got, reference(r=0.03, time_shift=shift))


def test_sigma_forms_agree() -> None:
    per_scenario = SIGMA_STATES[:, VOL_STATE]
    a = ro.revalue(FLAG, FORWARD, STRIKE, T, per_scenario, MOVE)
    b = ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE)
    assert np.array_equal(a, b)
    c = ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES[:, 0], MOVE)
    d = ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=np.zeros(M, dtype=np.int32))
    assert np.array_equal(c, d)


def test_threads_give_identical_results() -> None:
    one = ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE, threads=1)
    two = ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE, threads=2)
    assert np.array_equal(one, two)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("forward", -1.0, "instrument 5"),
        ("strike", np.inf, "instrument 5"),
        ("flag", 2.0, "instrument 5"),
        ("t", np.nan, "instrument 5"),
    ],
)
def test_bad_instrument_is_named(field: str, value: float, match: str) -> None:
    args = {"flag": FLAG.copy(), "forward": FORWARD.copy(), "strike": STRIKE.copy(), "t": T.copy()}
    if field == "strike":
        args["flag"][5] = 1.0  # strikes matter for options only
    args[field][5] = value
    with pytest.raises(ValueError, match=match):
        ro.revalue(
            args["flag"], args["forward"], args["strike"], args["t"], SIGMA_STATES, MOVE, vol_state=VOL_STATE
        )


def test_bad_scenario_inputs() -> None:
    with pytest.raises(ValueError, match="scenario"):
        ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES[:, 0], np.array([0.1, -1.0]))
    with pytest.raises(ValueError, match="vol_state"):
        ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE + 1)
    # int32 states are checked by the kernel, wider ones before they are narrowed (2**32 would wrap to 0)
    for bad in (-1, 3, 2**31 - 1):
        states = VOL_STATE.copy()
        states[5] = bad
        with pytest.raises(ValueError, match=r"vol_state entries must lie in \[0, 3\)"):
            ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=states)
    wide = VOL_STATE.astype(np.int64)
    wide[0] = 2**32
    with pytest.raises(ValueError, match=r"vol_state entries must lie in \[0, 3\)"):
        ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=wide)
    with pytest.raises(ValueError, match="sigma"):
        ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES[:10], MOVE)
    negative = SIGMA_STATES.copy()
    negative[7, 1] = -0.1
    with pytest.raises(ValueError, match="instrument 7"):
        ro.revalue(FLAG, FORWARD, STRIKE, T, negative, MOVE, vol_state=VOL_STATE)


def test_base_first_gives_pnl_against_column_zero(simd_target: str) -> None:
    values = ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE, inverse=INVERSE)
    pnl = ro.revalue(
        FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE, inverse=INVERSE, base_first=True
    )
    assert pnl.shape == (N, M - 1)
    assert np.array_equal(pnl, values[:, 1:] - values[:, :1])  # same arithmetic, one pass


def test_out_is_filled_in_place() -> None:
    out = np.full((N, M), np.nan)
    got = ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE, out=out)
    assert got is out or np.shares_memory(got, out)
    assert np.array_equal(out, ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE))
    with pytest.raises(ValueError, match="out must be"):
        ro.revalue(
            FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE, out=np.empty((N, M - 1))
        )


def test_no_instruments_gives_an_empty_matrix() -> None:
    empty = np.zeros(0)
    assert ro.revalue(empty, empty, empty, empty, empty, MOVE).shape == (0, M)


@pytest.mark.parametrize("r", [0.0, 0.05])
def test_base_out_gives_the_base_value_and_delta(simd_target: str, r: float) -> None:
    """base_out: the value of scenario 0, the base state (quote currency, before coin conversion), and dV/dF
    from the same pass, against ro.price and ro.greeks on scenario 0's inputs (delta 1 for a forward-like
    position; a finite difference of ro.price checks the sign convention), on every SIMD target."""
    base = np.full((2, N), np.nan)
    pnl = ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE, inverse=INVERSE, r=r,
                     base_first=True, base_out=base)  # fmt: skip
    assert pnl.shape == (N, M - 1)
    live = T > 0
    sigma = SIGMA_STATES[:, VOL_STATE[0]]
    f0 = FORWARD * (1.0 + MOVE[0])
    flags = np.where(FLAG > 0, "c", "p")
    tt = np.maximum(T, 0.0)
    value = np.where(FLAG == 0.0, f0, ro.price(flags, f0, STRIKE, tt, r, sigma))
    delta = np.where(FLAG == 0.0, 1.0, np.asarray(ro.greeks(flags, f0, STRIKE, tt, r, sigma, greeks="delta")["delta"]))
    ok = np.abs(base[0] - value) <= np.maximum(1e-12 * np.abs(value), 1e-14 * f0)
    assert ok.all(), np.flatnonzero(~ok)[:5]
    opts = live & (FLAG != 0.0)
    assert np.allclose(base[1][opts], delta[opts], rtol=1e-12, atol=1e-15)
    assert (base[1][FLAG == 0.0] == 1.0).all()
    h = 1e-5 * f0
    bump = (ro.price(flags, f0 + h, STRIKE, tt, r, sigma) - ro.price(flags, f0 - h, STRIKE, tt, r, sigma)) / (2 * h)
    assert np.allclose(base[1][opts], bump[opts], rtol=1e-5, atol=1e-7)
    # the P&L is unchanged by asking for the base outputs
    plain = ro.revalue(FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE, vol_state=VOL_STATE, inverse=INVERSE, r=r,
                       base_first=True)  # fmt: skip
    assert np.array_equal(pnl, plain)


def test_base_out_is_checked() -> None:
    args = (FLAG, FORWARD, STRIKE, T, SIGMA_STATES, MOVE)
    with pytest.raises(ValueError, match="base_out needs base_first"):
        ro.revalue(*args, vol_state=VOL_STATE, base_out=np.empty((2, N)))
    with pytest.raises(ValueError, match=r"base_out must be an array of shape \(2, 203\)"):
        ro.revalue(*args, vol_state=VOL_STATE, base_first=True, base_out=np.empty((N, 2)))
    with pytest.raises((ValueError, TypeError), match="base_out"):
        ro.revalue(*args, vol_state=VOL_STATE, base_first=True, base_out=np.empty((2, N), dtype=np.float32))
    out = np.empty((N, M - 1))
    with pytest.raises(ValueError, match="must not share memory"):
        ro.revalue(*args, vol_state=VOL_STATE, base_first=True, out=out, base_out=out.reshape(-1)[: 2 * N].reshape(2, N))


@pytest.mark.parametrize("states", [3, 11])  # vol states kept per instrument block, and more than it keeps
@pytest.mark.parametrize("r, shifted", [(0.0, False), (0.04, True)])
@pytest.mark.parametrize("base_first", [False, True])
def test_one_instrument_alone_gives_its_row_of_the_matrix_bit_for_bit(
    simd_target: str, states: int, r: float, shifted: bool, base_first: bool
) -> None:
    """One instrument is revalued with its scenarios across the vector lanes (the live engine's one-option
    reprice), many with the instruments across them: the same arithmetic per lane, so the same bits, whatever
    the scenario count (a partial last vector) and whichever column is the base."""
    rng = np.random.default_rng(states)
    m = 37
    sigma = rng.uniform(0.05, 2.0, (N, states))
    sigma[::5, 0] = 0.0  # zero-vol lanes next to live ones in one vector
    vol_state = rng.integers(0, states, m).astype(np.int32)
    move = rng.uniform(-0.5, 0.5, m)
    shift = np.linspace(0.0, 30 / 365, m) if shifted else None
    inverse = INVERSE.copy()
    kwargs = {"vol_state": vol_state, "r": r, "time_shift": shift, "base_first": base_first}
    base = np.full((2, N), np.nan) if base_first else None
    whole = ro.revalue(FLAG, FORWARD, STRIKE, T, sigma, move, inverse=inverse, base_out=base, **kwargs)
    for i in range(N):
        one_base = np.full((2, 1), np.nan) if base_first else None
        alone = ro.revalue(FLAG[i : i + 1], FORWARD[i : i + 1], STRIKE[i : i + 1], T[i : i + 1], sigma[i : i + 1],
                           move, inverse=inverse[i : i + 1], base_out=one_base, **kwargs)  # fmt: skip
        np.testing.assert_array_equal(alone[0], whole[i], err_msg=f"instrument {i}")
        if base is not None and one_base is not None:
            np.testing.assert_array_equal(one_base[:, 0], base[:, i], err_msg=f"instrument {i}")


def test_one_instrument_alone_names_its_first_bad_scenario() -> None:
    sigma = SIGMA_STATES[:1].copy()
    sigma[0, 2] = -0.1
    with pytest.raises(ValueError, match="scenario 2"):
        ro.revalue(FLAG[:1], FORWARD[:1], STRIKE[:1], T[:1], sigma, MOVE, vol_state=VOL_STATE)
