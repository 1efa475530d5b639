"""The bundled synthetic SPAN file of the sample market: SPAN on a riskoffset book from Python and the CLI.

The expected figures are worked from the file's documented construction (tools/make_sample_span.py: scan range
15 % of the forward, volatility scan 10 vol points, 16 standard points, initial = 1.1 x maintenance), priced here
with an independent Black-76 in plain Python, not read back from our SPAN code."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import riskoffset as ro
from cli_runner import RunCli
from riskoffset.margining.span.algorithm import sample_params_path

SCAN, VOL_SCAN, INITIAL_OVER_MAINTENANCE = 0.15, 0.10, 1.1
# (price move in scan ranges, vol move in vol scans, weight) of the 16 points, in file order
POINTS = [(p * s / 3.0, v, 1.0) for p in (0, 1, 2, 3) for s in ((1,) if p == 0 else (1, -1)) for v in (1, -1)]
POINTS += [(2.0, 0, 0.35), (-2.0, 0, 0.35)]


def _black(call: bool, f: float, k: float, t: float, sigma: float) -> float:
    n = lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))
    d1 = (math.log(f / k) + 0.5 * sigma * sigma * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    return f * n(d1) - k * n(d2) if call else k * n(-d2) - f * n(-d1)


def _book(positions: dict[str, float], market: ro.Market) -> ro.Book:
    return ro.Book.from_positions(
        [{"instrument": k, "quantity": q} for k, q in positions.items()], instruments=market.instruments
    )


def test_points_match_the_file_generator() -> None:
    assert len(POINTS) == 16
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    from make_span_file import POINTS as FILE_POINTS

    flat = [x for n, d, m, v, w, _ in FILE_POINTS for x in (m * n / d, v, w)]
    assert flat == pytest.approx([x for point in POINTS for x in point], abs=1e-15)


def test_file_is_labelled_synthetic() -> None:
    doc = json.loads(sample_params_path().read_text())
    assert "SYNTHETIC" in doc["description"]
    head = (sample_params_path().parent / doc["file"]).read_text()[:300]
    assert "SYNTHETIC" in head


def test_long_inverse_future_is_the_scan_range_of_its_usd_face() -> None:
    """100,000 USD face of BTC-25DEC26 is 100,000 / F coins; its worst loss is a move of the whole scan range,
    0.15 F per coin: 15,000 USD maintenance, 16,500 initial, whatever F is."""
    market = ro.Market.sample()
    book = _book({"BTC-25DEC26": 100_000.0}, market)
    r = ro.margin(book, market, "span", "sample")
    assert r.currency == "USD"
    with pytest.raises(TypeError, match="position 0: expected a record"):
        ro.Book.from_positions({"BTC-25DEC26": 1.0}, instruments=market.instruments)  # type: ignore[arg-type]
    assert r.maintenance == pytest.approx(100_000 * SCAN, rel=1e-6)
    assert r.initial == pytest.approx(100_000 * SCAN * INITIAL_OVER_MAINTENANCE, rel=1e-6)


def test_short_option_scan_risk_is_its_worst_revaluation() -> None:
    market = ro.Market.sample()
    name = "BTC-25DEC26-110000-C"
    resolved = market.resolve(ro.InstrumentTable.from_names([name]))
    f, sigma, t = float(resolved.forward[0]), float(resolved.sigma[0]), float(resolved.t[0])
    base = _black(True, f, 110_000.0, t, sigma)
    losses = [
        (_black(True, f * (1 + p * SCAN), 110_000.0, t, max(sigma + v * VOL_SCAN, 0.01)) - base) * w * 2.0
        for p, v, w in POINTS
    ]  # short 2 calls lose when the call gains
    book = _book({name: -2.0}, market)
    r = ro.margin(book, market, "span", "sample")
    # the file rounds each array entry to cents
    assert r.components["scan_risk"] == pytest.approx(max(losses), abs=2 * 0.006)
    assert r.worst_scenario is not None and r.worst_scenario.index == 1 + losses.index(max(losses))


def test_calendar_spread_forms_with_the_documented_charge() -> None:
    """Long one future, short the next expiry: the deltas cancel across tiers, one coin-spread per coin,
    charged 1 % of the nearer forward."""
    market = ro.Market.sample()
    near, far = "BTC-25DEC26", "BTC-29JAN27"
    resolved = market.resolve(ro.InstrumentTable.from_names([near, far]))
    f_near, f_far = (float(x) for x in resolved.forward)
    coins = 2.0
    book = _book({near: coins * f_near, far: -coins * f_far}, market)
    r = ro.margin(book, market, "span", "sample")
    assert r.components["intra_spread_charge"] == pytest.approx(coins * 0.01 * f_near, rel=1e-4)
    assert r.components["scan_risk"] == pytest.approx(coins * SCAN * abs(f_far - f_near), abs=0.05)


def test_json_params_file_is_read_as_json_and_its_spn_relative_to_it(tmp_path: Path) -> None:
    src = sample_params_path()
    shutil.copy(src, tmp_path / "p.json")
    shutil.copy(src.parent / json.loads(src.read_text())["file"], tmp_path)
    market, book = ro.Market.sample(), ro.Book.sample("short_strangle")
    assert ro.margin(book, market, "span", str(tmp_path / "p.json")).initial == pytest.approx(
        ro.margin(book, market, "span", "sample").initial, rel=1e-15
    )
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json.*not valid JSON"):
        ro.margin(book, market, "span", str(tmp_path / "bad.json"))
    (tmp_path / "nofile.json").write_text('{"mapping": {}}')
    with pytest.raises(ValueError, match="nofile.json.*'file'"):
        ro.margin(book, market, "span", str(tmp_path / "nofile.json"))


def test_every_sample_book_gets_a_span_figure() -> None:
    market = ro.Market.sample()
    for name in ro.Book.samples():
        r = ro.margin(ro.Book.sample(name), market, "span", "sample")
        assert math.isfinite(r.initial_usd) and r.initial_usd >= r.maintenance_usd >= 0.0


def test_cli_span_on_the_sample_market_and_with_a_params_file(run_cli: RunCli, tmp_path: Path) -> None:
    code, out, err = run_cli("margin", "short_strangle", "--method", "span", "--json")
    assert code == 0, err
    expected = ro.margin(ro.Book.sample("short_strangle"), ro.Market.sample(), "span", "sample")
    assert json.loads(out)["initial_usd"] == pytest.approx(expected.initial_usd, rel=1e-12)
    code, out, err = run_cli("margin", "short_strangle", "--method", "all")
    assert code == 0, err
    span_row = next(line for line in out.splitlines() if line.startswith("span "))
    assert "n/a" not in span_row and "synthetic parameters" in span_row
    (tmp_path / "broken.json").write_text("[1, 2")
    code, _, err = run_cli("margin", "short_strangle", "--method", "span", "--params", str(tmp_path / "broken.json"))
    assert code == 2 and "broken.json" in err and err.count("\n") == 1, err


def test_a_file_given_by_path_is_read_once_while_it_stays_unchanged(tmp_path: Path) -> None:
    """Every call on the same path shares one parsed file (and so its compiled models); the options are a new
    dict each time; a file changed on disk is read again."""
    from riskoffset.margining.span.algorithm import load_params

    one, opts_one = load_params("sample")
    two, opts_two = load_params("sample")
    assert one is two and opts_one is not opts_two and opts_one["mapping"] is opts_two["mapping"]
    src = sample_params_path()
    spn = src.parent / json.loads(src.read_text())["file"]
    copy = tmp_path / "copy.spn"
    shutil.copy(spn, copy)
    first = load_params(str(copy))[0]
    assert load_params(copy)[0] is first
    copy.write_text(spn.read_text().replace("</spanFile>", "<!-- changed -->\n</spanFile>"))
    again = load_params(copy)[0]
    assert again is not first and len(again.contracts) == len(first.contracts)


def test_instruments_the_book_does_not_hold_need_no_mapping() -> None:
    """The mapping must name every instrument the book holds; the rest of its table may be left out."""
    from riskoffset.margining.span.algorithm import load_params

    market, book = ro.Market.sample(), ro.Book.sample("short_strangle")
    span, extra = load_params("sample")
    held = set(book.instruments.names[book.indices].tolist())
    mapping = {k: v for k, v in extra["mapping"].items() if k in held}
    assert len(mapping) < len(extra["mapping"])
    got = ro.margin(book, market, "span", {"file": span, "mapping": mapping})
    assert got.initial == ro.margin(book, market, "span", "sample").initial
    name = min(held)
    del mapping[name]
    with pytest.raises(ValueError, match=f"instrument '{name}' of the book has no entry in the SPAN mapping"):
        ro.margin(book, market, "span", {"file": span, "mapping": mapping})
