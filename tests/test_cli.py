"""The command line end to end, in a subprocess as a user runs it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import riskoffset as ro
from cli_runner import RunCli
from riskoffset.chain import OptionChain


def test_demo_table_lists_the_chosen_expiry(run_cli: RunCli) -> None:
    result = run_cli("demo", "--expiry", "2026-12-25")
    assert result.returncode == 0, result.stderr
    assert "synthetic" in result.stdout
    assert "BTC-25DEC26-95000-C" in result.stdout
    assert "BTC-26NOV26" not in result.stdout


def test_demo_json_matches_the_library(run_cli: RunCli) -> None:
    result = run_cli("demo", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["options_priced"] == len(OptionChain.from_market(ro.Market.sample()))
    assert data["summary"]["iv_failures"] == 0
    assert data["summary"]["iv_round_trip_max_abs_error"] < 1e-10
    row = data["options"][0]
    chain = OptionChain.from_market(ro.Market.sample())
    i = int(np.flatnonzero(chain.instrument_name == row["instrument"])[0])
    flag = "c" if chain.is_call[i] else "p"
    usd = ro.price(flag, chain.forward[i], chain.strike[i], chain.t[i], 0.0, chain.mark_iv[i])
    assert row["mark_usd"] == pytest.approx(usd, rel=1e-12)
    assert row["mark_coin"] == pytest.approx(usd / chain.forward[i], rel=1e-12)
    # Deribit display units: vega per vol point and theta per day of the USD value.
    g = ro.greeks(flag, chain.forward[i], chain.strike[i], chain.t[i], 0.0, chain.mark_iv[i])
    assert row["vega_usd_per_point"] == pytest.approx(g["vega"] / 100, rel=1e-12)
    assert row["theta_usd_per_day"] == pytest.approx(g["theta"] / 365, rel=1e-12)
    assert row["delta"] == pytest.approx(g["delta"], rel=1e-12)
    assert row["gamma_usd"] == pytest.approx(g["gamma"], rel=1e-10)


def test_unknown_expiry_is_a_clear_error_with_nonzero_exit(run_cli: RunCli) -> None:
    result = run_cli("demo", "--expiry", "2020-01-01")
    assert result.returncode == 2
    assert "2020-01-01" in result.stderr and "choose one of" in result.stderr


def test_info_json(run_cli: RunCli) -> None:
    result = run_cli("info", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["active"] in data["supported"]
    assert set(data["supported"]) <= set(data["compiled"])


def test_forced_simd_target_through_the_environment(run_cli: RunCli) -> None:
    result = run_cli("info", "--json", env={"RISKOFFSET_SIMD": "generic"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["active"] == "generic"


def test_invalid_forced_simd_target_fails_at_import_with_a_message(run_cli: RunCli) -> None:
    result = run_cli("info", env={"RISKOFFSET_SIMD": "sse9"})
    assert result.returncode != 0
    assert "RISKOFFSET_SIMD" in result.stderr and "sse9" in result.stderr


def test_python_dash_m_riskoffset_and_version(run_cli: RunCli) -> None:
    code, out, err = run_cli("--version", subprocess=True)
    assert code == 0, err
    assert out.strip() == f"riskoffset {ro.__version__}"
    code, out, err = run_cli("info", "--json", subprocess=True)
    assert code == 0 and json.loads(out)["version"] == ro.__version__, err


def test_every_subcommand_is_listed_and_has_help(run_cli: RunCli) -> None:
    from riskoffset.cli.main import SUBCOMMANDS

    code, out, _ = run_cli("--help")
    assert code == 0
    for name in SUBCOMMANDS:
        assert name in out
        code, sub_help, err = run_cli(name, "--help")
        assert code == 0 and f"usage: riskoffset {name}" in sub_help, err
